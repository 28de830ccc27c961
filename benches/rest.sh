#!/usr/bin/env bash
# REST against MCP, in one run against one server (issue 8): `prodlink serve --demo` (release
# build, SQLite, 83,917 products with the lexical and semantic indexes complete, rate limits
# off, default logging), driven by wrk on the same cores, REST and MCP runs alternating (in
# the order REST, MCP, MCP, REST, REST, … so neither side always gets the later minute):
#   - product lookup over 5,000 different products of the demo catalog (2 threads, 16
#     connections): `GET /api/v1/products/{gtin}` (benches/rest_call.lua) against MCP
#     `tools/call lookup_product` (benches/mcp_call.lua), both anonymous; nearly every call is
#     answered by the 2-second product-row cache;
#   - the same lookups over all 83,917 products in random order (1 wrk thread, 16
#     connections — one thread, so no two wrk threads walk the list in step), so the row cache
#     almost never answers and every lookup reads the database;
#   - search (2 threads, 4 connections, limit 10): `GET /api/v1/search?query=…` (rest_call.lua)
#     against MCP `search_products` (benches/search_call.lua), every request a query never sent
#     before (the query list of benches/search.sh: two or three leading words of real product
#     names, shuffled; each REST/MCP pair of runs takes its own slice of the list, REST its odd
#     and MCP its even lines, so the query-embedding cache never hits and both sides draw from
#     the same stretch of the list; wrk reports any repeat).
# A failure is any non-2xx answer (REST) or any non-200, JSON-RPC error or tool error (MCP).
# Prints every run (calls/s, p50, p99, failures), the medians, and REST / MCP per operation.
#   benches/rest.sh [SECONDS_PER_RUN] [RUNS]
#   NO_BUILD=1 benches/rest.sh …   # use the release binary as it is (no cargo build)
source "$(dirname "$0")/lib.sh"
secs="${1:-10}"
runs="${2:-3}"
need_wrk
command -v sqlite3 >/dev/null || apt-get install -y -q sqlite3 >/dev/null
scripts/fetch-model.sh >/dev/null
[ -n "${NO_BUILD:-}" ] || cargo build --release --locked -q -p prodlink
[ -x "$bin" ] || { echo "no release binary at $bin"; exit 1; }

bench_queries

serve_indexed_demo "sqlite://$work/bench.db"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "catalog indexed (lexical + semantic) $(($(date +%s) - start)) s after start; $total distinct queries"

# 5,000 distinct products for the lookups.
sqlite3 "$work/bench.db" "SELECT gtin FROM products ORDER BY random() LIMIT 5000" >"$work/gtins.txt"
python3 - "$work/bench.db" >"$work/gtins_all.txt" <<'EOF'
import random, sqlite3, sys
gtins = [r[0] for r in sqlite3.connect(sys.argv[1]).execute("SELECT gtin FROM products")]
random.Random(7).shuffle(gtins)
print("\n".join(gtins))
EOF
g="$(head -1 "$work/gtins.txt")"
# Both sides answer the same product with the same JSON (the REST twin calls the same service).
rest_body="$(curl -sf "$base/api/v1/products/$g")" || { echo "REST lookup of $g failed"; exit 1; }
mcp_body="$(curl -sf "$base/mcp/http" -H 'content-type: application/json' \
  -H 'accept: application/json, text/event-stream' -H 'mcp-protocol-version: 2025-11-25' \
  -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"lookup_product\",\"arguments\":{\"gtin\":\"$g\"}}}")"
REST="$rest_body" MCP="$mcp_body" python3 -c '
import json, os
r, m = json.loads(os.environ["REST"]), json.loads(os.environ["MCP"])["result"]["structuredContent"]
assert r == m, (r, m)' >/dev/null 2>&1 || echo "warning: REST and MCP answer $g differently"
# And the same search (a query that is not in the benchmark's list, so no cache is warmed).
python3 - "$base" <<'EOF' || echo "warning: REST and MCP search answer differently"
import json, sys, urllib.parse, urllib.request
base, q = sys.argv[1], "crème fraîche épaisse bio entière"
r = json.load(urllib.request.urlopen(f"{base}/api/v1/search?query={urllib.parse.quote(q, safe='')}&limit=10"))
call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "search_products", "arguments": {"query": q, "limit": 10}}}
m = json.load(urllib.request.urlopen(urllib.request.Request(f"{base}/mcp/http", json.dumps(call).encode(), {
    "content-type": "application/json", "accept": "application/json, text/event-stream",
    "mcp-protocol-version": "2025-11-25"})))["result"]["structuredContent"]
assert r == m and len(r["items"]) == 10, (r, m)
EOF

# Each pair of search runs (REST, MCP) gets its own slice of the queries, so no query reaches
# the server twice; REST takes its odd lines and MCP its even ones, so both sides draw from the
# same stretch of the shuffled list (query costs vary a lot: common words cost more).
used=0
slice() { # count -> $work/slice_rest.txt and slice_mcp.txt with COUNT / 2 unused queries each
  local n="$1"
  [ $((used + n)) -le "$total" ] || { echo "not enough distinct queries ($total)" >&2; exit 1; }
  sed -n "$((used + 1)),$((used + n))p" "$work/queries.txt" >"$work/slice.txt"
  awk 'NR % 2 == 1' "$work/slice.txt" >"$work/slice_rest.txt"
  awk 'NR % 2 == 0' "$work/slice.txt" >"$work/slice_mcp.txt"
  used=$((used + n))
}
rpc_lookup='{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"lookup_product","arguments":{"gtin":"GTIN"}}}'
one() { # name duration -> RESULT line of one wrk run (searches read $work/slice_SIDE.txt)
  case "$1" in
    rest_lookup) GTINS_FILE="$work/gtins.txt" PATH_TEMPLATE="/api/v1/products/GTIN" \
      wrk -t2 -c16 -d"$2" -s benches/rest_call.lua "$base" ;;
    mcp_lookup) GTINS_FILE="$work/gtins.txt" BODY="$rpc_lookup" \
      wrk -t2 -c16 -d"$2" -s benches/mcp_call.lua "$base/mcp/http" ;;
    rest_lookup_all) GTINS_FILE="$work/gtins_all.txt" PATH_TEMPLATE="/api/v1/products/GTIN" \
      wrk -t1 -c16 -d"$2" -s benches/rest_call.lua "$base" ;;
    mcp_lookup_all) GTINS_FILE="$work/gtins_all.txt" BODY="$rpc_lookup" \
      wrk -t1 -c16 -d"$2" -s benches/mcp_call.lua "$base/mcp/http" ;;
    rest_search) THREADS=2 QUERIES_FILE="$work/slice_rest.txt" \
      wrk -t2 -c4 -d"$2" -s benches/rest_call.lua "$base" ;;
    mcp_search) THREADS=2 QUERIES_FILE="$work/slice_mcp.txt" \
      wrk -t2 -c4 -d"$2" -s benches/search_call.lua "$base/mcp/http" ;;
  esac | grep '^RESULT'
}
pair() { # operation: warm up both sides, then alternate REST and MCP runs
  local op="$1" line side order
  [ "$op" != search ] || slice 2400
  for side in rest mcp; do one "${side}_$op" 3s >/dev/null; done
  for i in $(seq "$runs"); do
    if [ $((i % 2)) -eq 1 ]; then order="rest mcp"; else order="mcp rest"; fi
    [ "$op" != search ] || slice $((secs * 800))
    for side in $order; do
      line="$(one "${side}_$op" "${secs}s")"
      echo "${side}_$op run $i: ${line#RESULT }"
      echo "$line" >>"$work/${side}_$op.results"
    done
  done
}
median() { # file field
  sed -E "s/.* $2=([0-9.]+).*/\1/" "$1" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
total_of() { # file field
  sed -E "s/.* $2=([0-9]+).*/\1/" "$1" | awk '{s += $1} END {print s}'
}

pair lookup
pair lookup_all
pair search

echo "median over $runs runs (failures, socket errors and repeats summed over the runs):"
for op in lookup lookup_all search; do
  for side in rest mcp; do
    f="$work/${side}_$op.results"
    printf '  %-15s %8s calls/s, p50 %s ms, p99 %s ms, failures %s, socket errors %s, repeats %s\n' \
      "${side}_$op" "$(median "$f" rps)" "$(median "$f" p50_ms)" "$(median "$f" p99_ms)" \
      "$(total_of "$f" failures)" "$(total_of "$f" socket_errors)" "$(total_of "$f" repeats)"
  done
done
for op in lookup lookup_all search; do
  awk -v op="$op" -v a="$(median "$work/rest_$op.results" rps)" -v b="$(median "$work/mcp_$op.results" rps)" \
    -v c="$(median "$work/rest_$op.results" p50_ms)" -v d="$(median "$work/mcp_$op.results" p50_ms)" \
    'BEGIN { printf "REST / MCP %s: calls/s %.2fx, p50 %.2fx\n", op, a / b, c / d }'
done
