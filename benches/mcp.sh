#!/usr/bin/env bash
# MCP throughput benchmark (tools/call over Streamable HTTP, 16 concurrent connections, wrk):
#   - prodlink `validate_gtin` and `lookup_product` on the demo catalog (release build, default
#     logging: every call writes its audit line);
#   - the same two calls with a valid bearer token on every call (the resource server checks
#     it: cache lookup, audience, expiry), and the ratio to anonymous calls (target: the token
#     check costs at most 10 %);
#   - in the same run, the same `validate_gtin` on a minimal stateless server built on the
#     official MCP TypeScript SDK (benches/ts-baseline), and prodlink's ratio to it.
# Rate limits are turned off for the run (they would otherwise be what is measured).
# Targets (2-core machine): validate_gtin >= 30,000 calls/s, lookup_product >= 15,000 calls/s,
# p99 <= 5 ms. wrk and the servers share the machine's cores.
#   benches/mcp.sh [SECONDS_PER_RUN] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-10}"
runs="${2:-3}"
command -v wrk >/dev/null || { echo "installing wrk"; apt-get install -y -q wrk >/dev/null; }
cargo build --release --locked -q -p prodlink
bin="${CARGO_TARGET_DIR:-target}/release/prodlink"
[ -d benches/ts-baseline/node_modules ] || npm ci --prefix benches/ts-baseline --no-audit --no-fund --loglevel=error

work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

"$bin" --database "sqlite://$work/bench.db" serve --demo --addr 127.0.0.1:0 \
  --rate-limit-anonymous 0 --rate-limit-client 0 >"$work/out" 2>"$work/log" &
pids+=($!)
for _ in $(seq 600); do grep -q "listening on" "$work/out" 2>/dev/null && break; sleep 0.2; done
base="$(sed -n 's/^listening on //p' "$work/out")"
until curl -sf "$base/mcp/health" | grep -q '"pending":0'; do sleep 0.5; done
# A user and a token for the bearer runs (the default site URL is the address listened on).
site="$base"
printf 'benchmark password\n' | "$bin" --database "sqlite://$work/bench.db" --log warn user add --email bench@example.com >/dev/null
token="$("$bin" --database "sqlite://$work/bench.db" --log warn token mint --email bench@example.com --scope qr:generate --site-url "$site")"

rpc() { printf '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"%s","arguments":%s}}' "$1" "$2"; }
gtin="$(curl -s "$base/mcp/http" -H 'content-type: application/json' -H 'mcp-protocol-version: 2025-11-25' \
  -d "$(rpc search_products '{"query":"chocolate","limit":1}')" \
  | sed -E 's/.*"structuredContent":\{"items":\[\{"gtin":"([0-9]{14})".*/\1/')"
[[ "$gtin" =~ ^[0-9]{14}$ ]] || { echo "could not find a product to look up: $gtin"; exit 1; }

# 5,000 distinct products for the spread-out lookup run.
command -v sqlite3 >/dev/null || apt-get install -y -q sqlite3 >/dev/null
sqlite3 "$work/bench.db" "SELECT gtin FROM products ORDER BY random() LIMIT 5000" >"$work/gtins.txt"

bench() { # name url body  (TOKEN in the environment adds a bearer token)
  local name="$1" url="$2" body="$3" line
  BODY="$body" wrk -t2 -c16 -d3s -s benches/mcp_call.lua "$url" >/dev/null # warm-up
  for i in $(seq "$runs"); do
    line="$(BODY="$body" wrk -t2 -c16 -d"${secs}s" -s benches/mcp_call.lua "$url" | grep '^RESULT')"
    echo "$name run $i: ${line#RESULT }"
    echo "$line" | sed -E 's/.*rps=([0-9]+).*/\1/' >>"$work/$name.rps"
  done
}
# Anonymous and bearer runs alternate, so both see the same machine (CPU speed drifts here).
pair() { # name url body
  local name="$1" url="$2" body="$3" line
  BODY="$body" wrk -t2 -c16 -d3s -s benches/mcp_call.lua "$url" >/dev/null # warm-up
  for i in $(seq "$runs"); do
    line="$(BODY="$body" wrk -t2 -c16 -d"${secs}s" -s benches/mcp_call.lua "$url" | grep '^RESULT')"
    echo "prodlink_$name run $i: ${line#RESULT }"
    echo "$line" | sed -E 's/.*rps=([0-9]+).*/\1/' >>"$work/prodlink_$name.rps"
    line="$(TOKEN="$token" BODY="$body" wrk -t2 -c16 -d"${secs}s" -s benches/mcp_call.lua "$url" | grep '^RESULT')"
    echo "prodlink_bearer_$name run $i: ${line#RESULT }"
    echo "$line" | sed -E 's/.*rps=([0-9]+).*/\1/' >>"$work/prodlink_bearer_$name.rps"
  done
}
median() { sort -n "$1" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); lookup GTIN $gtin"
pair validate_gtin "$base/mcp/http" "$(rpc validate_gtin '{"gtin":"614141123452"}')"
pair lookup_product "$base/mcp/http" "$(rpc lookup_product "{\"gtin\":\"$gtin\"}")"
GTINS_FILE="$work/gtins.txt" bench prodlink_lookup_5000_products "$base/mcp/http" "$(rpc lookup_product '{"gtin":"GTIN"}')"
kill "${pids[0]}"

node benches/ts-baseline/server.mjs 18399 >"$work/ts.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "listening on" "$work/ts.out" 2>/dev/null && break; sleep 0.1; done
bench ts_sdk_validate_gtin "http://127.0.0.1:18399/mcp" "$(rpc validate_gtin '{"gtin":"614141123452"}')"

v="$(median "$work/prodlink_validate_gtin.rps")"
l="$(median "$work/prodlink_lookup_product.rps")"
l5="$(median "$work/prodlink_lookup_5000_products.rps")"
t="$(median "$work/ts_sdk_validate_gtin.rps")"
bv="$(median "$work/prodlink_bearer_validate_gtin.rps")"
bl="$(median "$work/prodlink_bearer_lookup_product.rps")"
echo "median calls/s: prodlink validate_gtin $v (target 30000), lookup_product $l (one product) / $l5 (5,000 products) (target 15000), TypeScript SDK validate_gtin $t"
awk -v v="$v" -v t="$t" 'BEGIN { printf "prodlink / TypeScript SDK (validate_gtin): %.1fx\n", v / t }'
echo "median calls/s with a bearer token: validate_gtin $bv, lookup_product $bl"
awk -v a="$v" -v b="$bv" -v c="$l" -v d="$bl" 'BEGIN { printf "bearer / anonymous: validate_gtin %.3f (cost %.1f %%), lookup_product %.3f (cost %.1f %%); target cost <= 10 %%\n", b / a, 100 * (1 - b / a), d / c, 100 * (1 - d / c) }'
