-- wrk script: POSTs one MCP tools/call per request (the JSON-RPC body comes from the BODY
-- environment variable) and reports throughput, latency and failures: non-200 answers and
-- JSON-RPC error objects, collected from every wrk thread.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = "2025-11-25"
wrk.body = os.getenv("BODY")
-- With TOKEN set, every call carries it as a bearer token (the resource server validates it).
if os.getenv("TOKEN") then
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
end

-- With GTINS_FILE set, every request substitutes the next GTIN of that file (one per line)
-- for the text GTIN in BODY, so lookups spread over many products.
local template = os.getenv("BODY")
local list_file = os.getenv("GTINS_FILE")
local gtins = nil
local idx = 0

dofile("benches/wrk_report.lua")

function init(args)
  failures = 0
  if list_file then
    gtins = {}
    for line in io.lines(list_file) do
      table.insert(gtins, line)
    end
    -- Each thread its own seed (os.time() alone is the same for threads started together).
    math.randomseed(os.time() * 1000 + (id or 0))
    idx = math.random(#gtins)
  end
end

function request()
  if gtins then
    idx = idx % #gtins + 1
    local body = string.gsub(template, "GTIN", gtins[idx])
    return wrk.format(nil, nil, nil, body)
  end
  return wrk.format()
end

response = mcp_response
