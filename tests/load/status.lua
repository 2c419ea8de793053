-- wrk script: subject status by SHA-256 digest
-- (GET /v1/brands/{LOAD_BRAND}/subjects/{digest}/status?id_type=email), cycling
-- through the digests in LOAD_DIGESTS (one hex digest per line).
dofile(os.getenv("LOAD_DIR") .. "/common.lua")
local digests = {}
local i = 0

function init(args)
  load_headers(nil)
  for line in io.lines(os.getenv("LOAD_DIGESTS")) do
    digests[#digests + 1] = line
  end
end

function request()
  i = i % #digests + 1
  return wrk.format("GET", "/v1/brands/" .. brand .. "/subjects/" .. digests[i] .. "/status?id_type=email")
end
