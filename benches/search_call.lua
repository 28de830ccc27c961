-- wrk script: one MCP `search_products` call per request, each with a query never sent before
-- (so the query-embedding cache never hits). QUERIES_FILE holds one query per line; wrk thread
-- k of THREADS takes lines k, k+THREADS, k+2·THREADS, … and counts a repeat if it runs out.
-- Failures are non-200 answers and JSON-RPC or tool errors (an overload's -32003 included).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = "2025-11-25"

dofile("benches/wrk_report.lua")

local function json_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    if c == '"' then return '\\"' elseif c == "\\" then return "\\\\" else return " " end
  end) .. '"'
end

function init(args)
  failures = 0
  repeats = 0
  queries = {}
  local threads = tonumber(os.getenv("THREADS") or "1")
  local n = 0
  for line in io.lines(os.getenv("QUERIES_FILE")) do
    if n % threads == id then
      table.insert(queries, line)
    end
    n = n + 1
  end
  idx = 0
end

function request()
  idx = idx + 1
  if idx > #queries then
    idx = 1
    repeats = repeats + 1
  end
  local body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search_products",'
    .. '"arguments":{"query":' .. json_string(queries[idx]) .. ',"limit":10}}}'
  return wrk.format(nil, nil, nil, body)
end

response = mcp_response
