-- wrk script: one consent event per request (POST /v1/brands/acme/consents),
-- each for a fresh synthetic subject, so every request is a durable append.
-- Prints one JSON line with the run's figures when done (tests/load/run.sh).
local counter = 0
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  token = os.getenv("LOAD_TOKEN")
  prefix = os.getenv("LOAD_PREFIX") or "load"
  now = os.date("!%Y-%m-%dT%H:%M:%SZ")
  wrk.method = "POST"
  wrk.headers["Authorization"] = "Bearer " .. token
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"type":"served","subject":"%s-%d-%d@load.example","notice_version":1,"time":"%s","channel":"web"}',
    prefix, tid, counter, now)
  return wrk.format(nil, "/v1/brands/acme/consents", nil, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'LOAD {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,"errors":%d,"non2xx":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.connect + e.read + e.write + e.timeout, e.status))
end
