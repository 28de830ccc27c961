#!/usr/bin/env bash
# Search relevance with Open Food Facts' own category labels as judgements: the demo's
# 1,000-product OFF sample imported without its category columns, each English category with
# ≥ 10 products as a query. NDCG@10 and Recall@50 for lexical only, semantic only and hybrid
# (semantic_ratio 0.3/0.5/0.7), for all-MiniLM-L6-v2 and the static embedding distilled from it.
#   benches/relevance.sh [RATIOS]      (EMBEDDERS=distilled skips the slow transformer)
#   FUSIONS=1 benches/relevance.sh     # every fusion rule and semantic leg on the same candidates
#   MIN_PRODUCTS=N …                   # categories with ≥ N products as queries (default 10)
#   DATABASES=sqlite,postgres benches/relevance.sh   # both backends side by side; PostgreSQL
#     (with pgvector) is started by scripts/pg.sh on port 54349 unless PRODLINK_BENCH_PG is set
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/fetch-model.sh >/dev/null
export DATABASES="${DATABASES:-sqlite}"
if [[ "$DATABASES" == *postgres* && -z "${PRODLINK_BENCH_PG:-}" ]]; then
  PRODLINK_BENCH_PG="$(scripts/pg.sh start 54349)"
  export PRODLINK_BENCH_PG
  trap 'scripts/pg.sh stop 54349' EXIT
fi
cargo run --release --locked -q -p catalog --example relevance -- \
  models/all-MiniLM-L6-v2 data/demo/off-sample-1000.tsv.gz "${1:-0.3,0.5,0.7}"
