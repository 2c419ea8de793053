-- wrk script: NDJSON batches of LOAD_BATCH consent events per request
-- (POST /v1/brands/acme/consents/batch), fresh synthetic subjects each time.
-- Prints one JSON line with the run's figures when done (tests/load/run.sh).
local counter = 0
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  token = os.getenv("LOAD_TOKEN")
  prefix = os.getenv("LOAD_PREFIX") or "batch"
  batch = tonumber(os.getenv("LOAD_BATCH") or "1000")
  now = os.date("!%Y-%m-%dT%H:%M:%SZ")
  wrk.method = "POST"
  wrk.headers["Authorization"] = "Bearer " .. token
  wrk.headers["Content-Type"] = "application/x-ndjson"
end

function request()
  local lines = {}
  for i = 1, batch do
    counter = counter + 1
    lines[i] = string.format(
      '{"type":"served","subject":"%s-%d-%d@load.example","notice_version":1,"time":"%s","channel":"web"}',
      prefix, tid, counter, now)
  end
  return wrk.format(nil, "/v1/brands/acme/consents/batch", nil, table.concat(lines, "\n") .. "\n")
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'LOAD {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,"errors":%d,"non2xx":%d,"batch":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.connect + e.read + e.write + e.timeout, e.status, tonumber(os.getenv("LOAD_BATCH") or "1000")))
end
