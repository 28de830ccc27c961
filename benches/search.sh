#!/usr/bin/env bash
# Search latency and throughput: `search_products` through MCP over Streamable HTTP on the demo
# catalog (83,917 products, both indexes complete), release build, every query never sent
# before (so the query-embedding cache never hits; wrk reports any repeat). Three query sets
# (benches/lib.sh, bench_queries):
#   - shopper: the relevance benchmark's 199 natural-language queries, each once, one at a time;
#   - questions: shoppers' questions of 3–7 words made from product names ("do you have organic
#     tomato soup"): latency with one connection, throughput with 4 and 16;
#   - names: two or three leading words of product names (the earlier benchmark's set):
#     latency with one connection, throughput with 4.
#   - query-embedding time alone, in-process (potion-base-8M as served).
# Targets (2-core machine, wrk sharing the cores): p50 <= 15 ms, p95 <= 30 ms, >= 100 searches/s.
#   benches/search.sh [SECONDS_PER_RUN] [RUNS]
#   DATABASES=sqlite,postgres benches/search.sh   # both backends in one run, same queries, with
#     the PostgreSQL / SQLite ratios; PostgreSQL 18 + pgvector is started by scripts/pg.sh on
#     port 54349 (both legs in the server's memory, read from the shared database, as served;
#     pgvector's HNSW index is opt-in, --db-vector-index);
#     KEEP_DB=1 reuses the demo database a previous run (this or benches/postgres.sh) loaded and
#     indexed (saves the load)
source "$(dirname "$0")/lib.sh"
secs="${1:-10}"
runs="${2:-3}"
need_wrk
scripts/fetch-model.sh potion >/dev/null
cargo build --release --locked -q -p prodlink
cargo build --release --locked -q -p search --example query_embed
example="${CARGO_TARGET_DIR:-target}/release/examples/query_embed"
databases="${DATABASES:-sqlite}"
if [[ "$databases" == *postgres* ]]; then bench_pg; fi

bench_queries

median() { # file field
  sed -E "s/.* $2=([0-9.]+).*/\1/" "$1" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
bench_backend() { # sqlite|postgres
  local db="$1" url
  case "$db" in
    sqlite) url="sqlite://$work/bench.db" ;;
    postgres) url="$(scripts/pg.sh createdb prodlink_demo_bench "$pg_port")" ;;
    *) echo "unknown database $db (sqlite, postgres)"; exit 2 ;;
  esac
serve_indexed_demo "$url"
echo "$db: machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $total distinct queries; catalog indexed (lexical + semantic) $(($(date +%s) - start)) s after start"
curl -s "$base/mcp/health" | python3 -c '
import json, sys
s = json.load(sys.stdin)["search"]
print("  semantic index:", json.dumps(s["semantic"]), "semantic_ratio", s["semantic_ratio"])'

# Each run gets its own slice of a query set, so no query reaches the server twice.
declare -A used=([queries]=0 [questions]=0)
slice() { # set count -> file with the next COUNT unused queries of the set
  local set="$1" n="$2" have
  have="$(wc -l <"$work/$set.txt")"
  [ $((used[$set] + n)) -le "$have" ] || { echo "not enough distinct $set ($have)" >&2; exit 1; }
  sed -n "$((used[$set] + 1)),$((used[$set] + n))p" "$work/$set.txt" >"$work/slice.txt"
  used[$set]=$((used[$set] + n))
}
run() { # set name connections threads
  local set="$1" name="$2" c="$3" t="$4" line
  for i in $(seq "$runs"); do
    slice "$set" $((secs * 300))
    line="$(THREADS="$t" QUERIES_FILE="$work/slice.txt" wrk -t"$t" -c"$c" -d"${secs}s" \
      -s benches/search_call.lua "$base/mcp/http" | grep '^RESULT')"
    echo "$db $name run $i: ${line#RESULT }"
    echo "$line" >>"$work/$db.$name.results"
  done
}
slice queries 2000
THREADS=1 QUERIES_FILE="$work/slice.txt" wrk -t1 -c1 -d3s -s benches/search_call.lua "$base/mcp/http" >/dev/null # warm-up
python3 benches/shopper_latency.py "$base" "$work/shopper.txt" "$db shopper" | tee -a "$work/shopper.results"
run questions questions_c1 1 1
run questions questions_c4 4 2
run questions questions_c16 16 2
run queries names_c1 1 1
run queries names_c4 4 2
kill "${pids[-1]}"

}
for db in ${databases//,/ }; do bench_backend "$db"; done

echo "median over $runs runs:"
sed 's/^RESULT /  /' "$work/shopper.results"
results="questions_c1 questions_c4 questions_c16 names_c1 names_c4"
for db in ${databases//,/ }; do
  for r in $results; do
    f="$work/$db.$r.results"
    echo "  $db $r: $(median "$f" rps) searches/s, p50 $(median "$f" p50_ms) ms, p95 $(median "$f" p95_ms) ms, p99 $(median "$f" p99_ms) ms"
  done
done
if [[ "$databases" == *sqlite* && "$databases" == *postgres* ]]; then
  for r in $results; do
    awk -v r="$r" -v a="$(median "$work/postgres.$r.results" rps)" -v b="$(median "$work/sqlite.$r.results" rps)" \
      -v c="$(median "$work/postgres.$r.results" p50_ms)" -v d="$(median "$work/sqlite.$r.results" p50_ms)" \
      'BEGIN { printf "  postgres / sqlite %s: searches/s %.2fx, p50 %.2fx\n", r, a / b, c / d }'
  done
fi
echo "targets: p50 <= 15 ms, p95 <= 30 ms (one at a time), >= 100 searches/s"
sed -n "1,2000p" "$work/questions.txt" | "$example" models/potion-base-8M 2000
