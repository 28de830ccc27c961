-- wrk script: one REST GET per request, for benches/rest.sh. Two modes:
--   - GTINS_FILE (one GTIN per line) and PATH_TEMPLATE (e.g. /api/v1/products/GTIN): every
--     request substitutes the next GTIN of the file for the text GTIN, so lookups spread over
--     many products (as benches/mcp_call.lua does for the MCP side);
--   - QUERIES_FILE (one query per line) and THREADS: GET /api/v1/search?query=…&limit=10 with a
--     query never sent before (so the query-embedding cache never hits); wrk thread k of THREADS
--     takes lines k, k+THREADS, … and counts a repeat if it runs out (as benches/search_call.lua
--     does for the MCP side).
-- A failure is any answer outside 2xx (a 429 or 503 included).
wrk.method = "GET"
wrk.headers["Accept"] = "application/json"

dofile("benches/wrk_report.lua")

local gtins_file = os.getenv("GTINS_FILE")
local queries_file = os.getenv("QUERIES_FILE")
local template = os.getenv("PATH_TEMPLATE") or "/api/v1/products/GTIN"

-- application/x-www-form-urlencoded value encoding (UTF-8 bytes kept as %XX).
local function encode(s)
  return (s:gsub("[^%w%-%._~]", function(c)
    return string.format("%%%02X", string.byte(c))
  end))
end

function init(args)
  failures = 0
  repeats = 0
  items = {}
  idx = 0
  if gtins_file then
    for line in io.lines(gtins_file) do
      table.insert(items, line)
    end
    math.randomseed(os.time() + 7919 * id)
    idx = math.random(#items)
  elseif queries_file then
    local threads = tonumber(os.getenv("THREADS") or "1")
    local n = 0
    for line in io.lines(queries_file) do
      if n % threads == id then
        table.insert(items, "/api/v1/search?query=" .. encode(line) .. "&limit=10")
      end
      n = n + 1
    end
  else
    error("set GTINS_FILE or QUERIES_FILE")
  end
end

function request()
  if gtins_file then
    idx = idx % #items + 1
    return wrk.format(nil, (template:gsub("GTIN", items[idx])))
  end
  idx = idx + 1
  if idx > #items then
    idx = 1
    repeats = repeats + 1
  end
  return wrk.format(nil, items[idx])
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    failures = failures + 1
  end
end
