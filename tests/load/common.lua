-- common.lua: what the wrk scripts share (loaded with dofile from
-- LOAD_DIR): a thread id per wrk thread, the bearer header, one synthetic
-- consent event, the brand, and the LOAD summary line tests/load/run.sh reads.
local threads = {}
-- The brand whose routes a script calls (LOAD_BRAND, default acme).
brand = os.getenv("LOAD_BRAND") or "acme"

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function load_headers(content_type)
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("LOAD_TOKEN")
  if content_type then
    wrk.method = "POST"
    wrk.headers["Content-Type"] = content_type
  end
end

local counter = 0
local now = os.date("!%Y-%m-%dT%H:%M:%SZ")

-- A served-notice event for a fresh synthetic subject each call.
function load_event(prefix)
  counter = counter + 1
  return string.format(
    '{"type":"served","subject":"%s-%d-%d@load.example","notice_version":1,"time":"%s","channel":"web"}',
    prefix, tid or 0, counter, now)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'LOAD {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,"errors":%d,"non2xx":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.connect + e.read + e.write + e.timeout, e.status))
end
