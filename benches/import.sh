#!/usr/bin/env bash
# Import benchmark: `prodlink import off` of the 84,745-row Open Food Facts subset into a fresh
# database, RUNS times (default 5), printing each run's rows/s and the median.
#   benches/import.sh [RUNS] [FILE]
#   DATABASES=sqlite,postgres benches/import.sh [RUNS]   # both backends, runs alternating, with
#     the PostgreSQL / SQLite ratio; PostgreSQL 18 is started by scripts/pg.sh on port 54349
# FILE defaults to the gzip copy in data/demo (decompression included in the time). Products
# are not embedded (--no-embed): embedding has its own benchmark (benches/embed.sh).
# Results and machine notes go to docs/benchmarks.md.
source "$(dirname "$0")/lib.sh"
runs="${1:-5}"
file="${2:-data/demo/off-2018-subset.tsv.gz}"
databases="${DATABASES:-sqlite}"
cargo build --release --locked -p prodlink >/dev/null
if [[ "$databases" == *postgres* ]]; then bench_pg; fi
for i in $(seq "$runs"); do
  for db in ${databases//,/ }; do
    case "$db" in
      sqlite) rm -f "$work"/bench.db*; url="sqlite://$work/bench.db" ;;
      postgres) url="$(scripts/pg.sh createdb prodlink_import_bench "$pg_port" 2>/dev/null)" ;;
      *) echo "unknown database $db (sqlite, postgres)"; exit 2 ;;
    esac
    out="$("$bin" --log warn --database "$url" import off "$file" --report-dir "$work" --no-progress --no-embed=true)"
    line="$(grep 'time:' <<<"$out")"
    sed -E 's/.*\(([0-9]+) rows\/s\).*/\1/' <<<"$line" >>"$work/$db.rates"
    echo "$db run $i: $(grep 'rows read' <<<"$out" | xargs) | $(xargs <<<"$line")"
  done
done
for db in ${databases//,/ }; do
  echo "$db median: $(median_of "$work/$db.rates") rows/s over $runs runs (target: >= 20000)"
done
if [[ "$databases" == *sqlite* && "$databases" == *postgres* ]]; then
  awk -v p="$(median_of "$work/postgres.rates")" -v s="$(median_of "$work/sqlite.rates")" \
    'BEGIN { printf "postgres / sqlite: %.2fx\n", p / s }'
fi
