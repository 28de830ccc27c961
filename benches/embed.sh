#!/usr/bin/env bash
# Embedding throughput of the sentence-embedding model (all-MiniLM-L6-v2 on candle, release
# build) over the demo catalog's product names, in batches of 1–128, and single-query latency.
#   benches/embed.sh [N_TEXTS]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/fetch-model.sh >/dev/null
gzip -dc data/demo/off-2018-subset.tsv.gz | tail -n +2 | cut -f2 | awk 'NR % 17 == 0' |
  cargo run --release --locked -q -p search --example throughput -- models/all-MiniLM-L6-v2 "${1:-2000}"
