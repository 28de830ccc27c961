#!/usr/bin/env bash
# Import benchmark: `prodlink import off` of the 84,745-row Open Food Facts subset into a fresh
# SQLite database, RUNS times (default 5), printing each run's rows/s and the median.
#   benches/import.sh [RUNS] [FILE]
# FILE defaults to the gzip copy in data/demo (decompression included in the time).
# Results and machine notes go to docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
file="${2:-data/demo/off-2018-subset.tsv.gz}"
cargo build --release --locked -p prodlink >/dev/null
bin="${CARGO_TARGET_DIR:-target}/release/prodlink"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
rates=()
for i in $(seq "$runs"); do
  rm -f "$work"/bench.db*
  out="$("$bin" --log warn --database "sqlite://$work/bench.db" \
         import off "$file" --report-dir "$work" --no-progress)"
  line="$(grep 'time:' <<<"$out")"
  rate="$(sed -E 's/.*\(([0-9]+) rows\/s\).*/\1/' <<<"$line")"
  rates+=("$rate")
  echo "run $i: $(grep 'rows read' <<<"$out" | xargs) | $(xargs <<<"$line")"
done
median="$(printf '%s\n' "${rates[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
echo "median: $median rows/s over $runs runs (target: >= 20000)"
