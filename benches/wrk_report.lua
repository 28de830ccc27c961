-- Shared by the wrk scripts (loaded with dofile from the repository root): keeps every wrk
-- thread so `done` can add up their `failures` counters (each script's `init` sets it to 0
-- and its `response` counts), and prints one RESULT line the bench scripts parse. Each thread
-- gets its number (0, 1, …) as the global `id`, so scripts can split or seed work per thread.
local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local failed, repeated = 0, 0
  for _, t in ipairs(threads) do
    failed = failed + (t:get("failures") or 0)
    repeated = repeated + (t:get("repeats") or 0)
  end
  io.write(string.format(
    "RESULT requests=%d rps=%.0f p50_ms=%.3f p95_ms=%.3f p99_ms=%.3f failures=%d socket_errors=%d repeats=%d\n",
    summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000, failed,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    repeated))
end

-- For the MCP scripts (`response = mcp_response`): a success is HTTP 200 with a JSON-RPC result
-- whose tool did not fail; anything else counts as a failure (an overload's -32003 included).
function mcp_response(status, headers, body)
  if status ~= 200 or not string.find(body, '"result":', 1, true)
      or string.find(body, '"isError":true', 1, true) then
    failures = failures + 1
  end
end
