-- wrk script: one consent event per request (POST /v1/brands/{LOAD_BRAND}/consents),
-- each for a fresh synthetic subject, so every request is a durable append.
dofile(os.getenv("LOAD_DIR") .. "/common.lua")

function init(args)
  prefix = os.getenv("LOAD_PREFIX") or "load"
  load_headers("application/json")
end

function request()
  return wrk.format(nil, "/v1/brands/" .. brand .. "/consents", nil, load_event(prefix))
end
