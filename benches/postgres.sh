#!/usr/bin/env bash
# lookup_product throughput (MCP tools/call over Streamable HTTP, wrk, 16 connections in all)
# on the demo catalog (83,917 products), in one run:
#   - SQLite, one prodlink process (the baseline);
#   - PostgreSQL 18 (scripts/pg.sh on port 54349), one prodlink process;
#   - PostgreSQL, two prodlink processes on the same database, 8 connections each (two wrk
#     at once; the figure is the sum).
# Each call looks up the next of all the catalog's GTINs in random order, so almost every call
# misses the 2-second row cache and reads the database. Release build, rate limits off. The
# processes, PostgreSQL and wrk share the machine's cores.
#   benches/postgres.sh [SECONDS_PER_RUN] [RUNS]
# KEEP_DB=1 reuses the PostgreSQL demo database a previous run (this or benches/search.sh)
# loaded and indexed.
source "$(dirname "$0")/lib.sh"
secs="${1:-10}"
runs="${2:-3}"
need_wrk
scripts/fetch-model.sh >/dev/null
cargo build --release --locked -q -p prodlink
bench_pg
pg="$(scripts/pg.sh createdb prodlink_demo_bench "$pg_port")"
lite="sqlite://$work/bench.db"

serve() { # name database [--demo] -> base URL in $work/NAME.base
  local name="$1" db="$2"
  shift 2
  "$bin" --database "$db" --log warn serve --addr 127.0.0.1:0 \
    --rate-limit-anonymous 0 --rate-limit-client 0 "$@" >"$work/$name.out" 2>"$work/$name.log" &
  pids+=($!)
  for _ in $(seq 600); do grep -q "listening on" "$work/$name.out" 2>/dev/null && break; sleep 0.2; done
  local base
  base="$(sed -n 's/^listening on //p' "$work/$name.out")"
  [ -n "$base" ] || { echo "prodlink ($name) did not start:"; cat "$work/$name.log"; exit 1; }
  echo "$base" >"$work/$name.base"
}
indexed() { # base: waits until the lexical and semantic indexes have no backlog
  local start
  start=$(date +%s)
  until curl -sf "$1/mcp/health" 2>/dev/null | python3 -c '
import json, sys
s = json.load(sys.stdin)["search"]
sem = s["semantic"]
sys.exit(0 if s["lexical"]["pending"] == 0 and (sem is None or (sem["ready"] and sem["pending"] == 0)) else 1)' 2>/dev/null; do
    [ $(($(date +%s) - start)) -lt 900 ] || { echo "not indexed within 15 minutes"; exit 1; }
    sleep 1
  done
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
# The demo catalog is loaded before the server listens: time to listen is the load time.
for db in lite pg; do
  started=$(date +%s.%N)
  serve "$db-a" "${!db}" --demo
  loaded=$(date +%s.%N)
  indexed "$(cat "$work/$db-a.base")"
  awk -v d="$db" -v a="$started" -v b="$loaded" -v c="$(date +%s.%N)" \
    -v kept="$([ "$db" = pg ] && [ "${KEEP_DB:-}" = 1 ] && echo 1 || echo 0)" \
    'BEGIN { if (kept) printf "postgres: demo catalog kept from a previous run\n"; else printf "%s: demo catalog loaded in %.1f s, then indexed (lexical + semantic) in %.1f s\n", d == "lite" ? "sqlite" : "postgres", b - a, c - b }'
done
python3 - "$work/bench.db" >"$work/gtins.txt" <<'EOF'
import random, sqlite3, sys
gtins = [r[0] for r in sqlite3.connect(sys.argv[1]).execute("SELECT gtin FROM products")]
random.Random(7).shuffle(gtins)
print("\n".join(gtins))
EOF
echo "lookups spread over $(wc -l <"$work/gtins.txt") products"
serve pg-b "$pg"
indexed "$(cat "$work/pg-b.base")"

body='{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"lookup_product","arguments":{"gtin":"GTIN"}}}'
wrk_run() { # base threads connections seconds -> RESULT line
  GTINS_FILE="$work/gtins.txt" BODY="$body" wrk -t"$2" -c"$3" -d"$4s" -s benches/mcp_call.lua \
    "$1/mcp/http" | grep '^RESULT'
}
rps() { sed -E 's/.*rps=([0-9]+).*/\1/'; }
a_lite="$(cat "$work/lite-a.base")"
a_pg="$(cat "$work/pg-a.base")"
b_pg="$(cat "$work/pg-b.base")"
for base in "$a_lite" "$a_pg" "$b_pg"; do wrk_run "$base" 2 16 3 >/dev/null; done # warm-up
# The three set-ups take turns in every round, so all see the same machine.
for i in $(seq "$runs"); do
  line="$(wrk_run "$a_lite" 2 16 "$secs")"
  echo "sqlite, 1 process, run $i: ${line#RESULT }"
  echo "$line" | rps >>"$work/sqlite1.rps"
  line="$(wrk_run "$a_pg" 2 16 "$secs")"
  echo "postgres, 1 process, run $i: ${line#RESULT }"
  echo "$line" | rps >>"$work/pg1.rps"
  wrk_run "$a_pg" 1 8 "$secs" >"$work/a.line" &
  other=$!
  wrk_run "$b_pg" 1 8 "$secs" >"$work/b.line"
  wait "$other"
  echo "postgres, 2 processes, run $i: A $(sed 's/^RESULT //' "$work/a.line")"
  echo "postgres, 2 processes, run $i: B $(sed 's/^RESULT //' "$work/b.line")"
  echo $(($(rps <"$work/a.line") + $(rps <"$work/b.line"))) >>"$work/pg2.rps"
done
s1="$(median_of "$work/sqlite1.rps")"
p1="$(median_of "$work/pg1.rps")"
p2="$(median_of "$work/pg2.rps")"
echo "median lookup_product calls/s: sqlite 1 process $s1, postgres 1 process $p1, postgres 2 processes $p2"
awk -v s="$s1" -v a="$p1" -v b="$p2" 'BEGIN { printf "postgres 1 process / sqlite: %.2fx; postgres 2 processes / 1 process: %.2fx\n", a / s, b / a }'
