-- wrk script: GETs one URL and reports throughput, latency and answers whose status is not
-- the expected one (EXPECT, default 200), collected from every wrk thread.
local expected = tonumber(os.getenv("EXPECT") or "200")
dofile("benches/wrk_report.lua")
function init(args)
  failures = 0
end
function response(status, headers, body)
  if status ~= expected then
    failures = failures + 1
  end
end
