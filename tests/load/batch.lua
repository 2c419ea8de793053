-- wrk script: NDJSON batches of LOAD_BATCH consent events per request
-- (POST /v1/brands/{LOAD_BRAND}/consents/batch), fresh synthetic subjects each time.
dofile(os.getenv("LOAD_DIR") .. "/common.lua")

function init(args)
  prefix = os.getenv("LOAD_PREFIX") or "batch"
  batch = tonumber(os.getenv("LOAD_BATCH") or "1000")
  load_headers("application/x-ndjson")
end

function request()
  local lines = {}
  for i = 1, batch do
    lines[i] = load_event(prefix)
  end
  return wrk.format(nil, "/v1/brands/" .. brand .. "/consents/batch", nil, table.concat(lines, "\n") .. "\n")
end
