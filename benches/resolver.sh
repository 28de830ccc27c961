#!/usr/bin/env bash
# Resolver throughput (wrk, 2 threads, 64 connections, GET, redirects not followed):
#   - 307 redirects for a GTIN with a product-level custom-URL rule;
#   - hosted product pages (200, server-rendered HTML);
#   - in the same run, nginx answering a fixed `return 307` (the Debian nginx-light package,
#     2 workers) on the same machine, and prodlink's ratio to it.
# Targets (2-core machine): >= 40,000 redirects/s, >= 5,000 pages/s, p99 <= 10 ms. wrk and the
# servers share the two cores.
#   benches/resolver.sh [SECONDS_PER_RUN] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-10}"
runs="${2:-3}"
command -v wrk >/dev/null || { echo "installing wrk"; apt-get install -y -q wrk >/dev/null; }
command -v nginx >/dev/null || { echo "installing nginx-light"; apt-get install -y -q nginx-light >/dev/null; }
cargo build --release --locked -q -p prodlink
bin="${CARGO_TARGET_DIR:-target}/release/prodlink"

work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
export PRODLINK_LOG=warn
db="sqlite://$work/bench.db"
# The demo catalog plus a product-level custom-URL rule for a product with no other rules.
"$bin" --database "$db" serve --demo --addr 127.0.0.1:0 >"$work/out" 2>"$work/log" &
pids+=($!)
for _ in $(seq 600); do grep -q "listening on" "$work/out" 2>/dev/null && break; sleep 0.2; done
kill "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true
redirect_gtin="00000000001199"
page_gtin="00009542015190"
printf '{"scope":"PRODUCT","gtin":"%s","custom_url":"https://brand.example/bench"}\n' "$redirect_gtin" >"$work/rules.jsonl"
"$bin" --database "$db" import rules "$work/rules.jsonl" --no-progress >/dev/null
"$bin" --database "$db" serve --addr 127.0.0.1:0 --rate-limit-anonymous 0 >"$work/out2" 2>"$work/log2" &
pids+=($!)
for _ in $(seq 600); do grep -q "listening on" "$work/out2" 2>/dev/null && break; sleep 0.2; done
base="$(sed -n 's/^listening on //p' "$work/out2")"
curl -sf -o /dev/null -w '%{http_code} %{redirect_url}\n' "$base/01/$redirect_gtin" | grep -q '^307 https://brand.example/bench' \
  || { echo "the redirect is not set up"; exit 1; }

nginx_port=18398
cat >"$work/nginx.conf" <<CONF
worker_processes 2;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  server {
    listen 127.0.0.1:$nginx_port;
    location / { return 307 https://brand.example/bench; }
  }
}
CONF
nginx -c "$work/nginx.conf" -p "$work"
pids+=("$(cat "$work/nginx.pid" 2>/dev/null || echo 0)")

bench() { # name url expected-status
  local name="$1" url="$2" expect="$3" line
  EXPECT="$expect" wrk -t2 -c64 -d3s -s benches/status.lua "$url" >/dev/null # warm-up
  for i in $(seq "$runs"); do
    line="$(EXPECT="$expect" wrk -t2 -c64 -d"${secs}s" -s benches/status.lua "$url" | grep '^RESULT')"
    echo "$name run ${round:-$i}: ${line#RESULT }"
    echo "$line" | sed -E 's/.*rps=([0-9]+).*/\1/' >>"$work/$name.rps"
  done
}
median() { sort -n "$1" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
for round in $(seq "$runs"); do
  # Interleaved, one run each per round, so all three see the same minutes of the machine.
  runs_save="$runs"; runs=1
  bench prodlink_redirect "$base/01/$redirect_gtin" 307
  bench nginx_return_307 "http://127.0.0.1:$nginx_port/01/$redirect_gtin" 307
  bench prodlink_hosted_page "$base/01/$page_gtin" 200
  runs="$runs_save"
done
unset round
nginx -c "$work/nginx.conf" -p "$work" -s stop 2>/dev/null || true
r="$(median "$work/prodlink_redirect.rps")"
n="$(median "$work/nginx_return_307.rps")"
p="$(median "$work/prodlink_hosted_page.rps")"
echo "median: prodlink redirects $r/s (target 40000), hosted pages $p/s (target 5000), nginx return 307 $n/s"
awk -v r="$r" -v n="$n" 'BEGIN { printf "prodlink redirect / nginx return 307: %.2f\n", r / n }'
