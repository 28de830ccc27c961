#!/usr/bin/env bash
# Search relevance on shoppers' questions (docs/benchmarks.md, "Relevance"): the queries of
# benches/relevance/queries.jsonl, judged by Open Food Facts' own labels, through
# search_products on the demo catalog and on the 1,000-product sample alone — lexical only,
# semantic only, hybrid as served — and, in the same run over the same text, PostgreSQL's
# websearch_to_tsquery (AND) and OR-of-lexemes baselines ranked by ts_rank_cd. NDCG@10,
# Recall@50 and MRR on the condensed lists, overall, per query class and per half.
#   benches/relevance.sh                         # SQLite, the served model (potion-base-8M)
#   BACKENDS=sqlite,postgres benches/relevance.sh
#   MODEL=models/all-MiniLM-L6-v2 benches/relevance.sh   # another model (scripts/fetch-model.sh minilm)
#   benches/relevance.sh --verbose --only q012,q037      # extra arguments go to the example
# PostgreSQL 18 (the baselines, and the postgres backend) is started by scripts/pg.sh on port
# 54349 unless PRODLINK_BENCH_PG is set.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 benches/relevance/check_queries.py -q
model="${MODEL:-models/potion-base-8M}"
case "$model" in
  *potion*) scripts/fetch-model.sh potion >/dev/null ;;
  *MiniLM*) scripts/fetch-model.sh minilm >/dev/null ;;
esac
if [ -z "${PRODLINK_BENCH_PG:-}" ]; then
  PRODLINK_BENCH_PG="$(scripts/pg.sh start 54349)"
  export PRODLINK_BENCH_PG
  trap 'scripts/pg.sh stop 54349' EXIT
fi
nproc_line="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "machine: $nproc_line; $(date -u +%Y-%m-%d)"
cargo run --release --locked -q -p catalog --example relevance -- \
  --model "$model" --backends "${BACKENDS:-sqlite}" "$@"
