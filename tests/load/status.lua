-- wrk script: subject status by SHA-256 digest
-- (GET /v1/brands/acme/subjects/{digest}/status?id_type=email), cycling
-- through the digests in LOAD_DIGESTS (one hex digest per line).
local digests = {}
local i = 0

function init(args)
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("LOAD_TOKEN")
  for line in io.lines(os.getenv("LOAD_DIGESTS")) do
    digests[#digests + 1] = line
  end
end

function request()
  i = i % #digests + 1
  return wrk.format("GET", "/v1/brands/acme/subjects/" .. digests[i] .. "/status?id_type=email")
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'LOAD {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,"errors":%d,"non2xx":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.connect + e.read + e.write + e.timeout, e.status))
end
