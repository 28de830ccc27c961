-- wrk script: GETs one URL and reports throughput, latency and answers whose status is not
-- the expected one (EXPECT, default 200), collected from every wrk thread.
local expected = tonumber(os.getenv("EXPECT") or "200")
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end
function init(args)
  failures = 0
end
function response(status, headers, body)
  if status ~= expected then
    failures = failures + 1
  end
end
function done(summary, latency, requests)
  local failed = 0
  for _, t in ipairs(threads) do
    failed = failed + (t:get("failures") or 0)
  end
  io.write(string.format(
    "RESULT requests=%d rps=%.0f p50_ms=%.3f p99_ms=%.3f failures=%d socket_errors=%d\n",
    summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, failed,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
