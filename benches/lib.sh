# Sourced by the benchmark scripts: strict mode, the repository as working directory, the
# release binary's path, a work directory removed on exit together with every server whose pid
# is in `pids`, and the benchmark PostgreSQL (scripts/pg.sh on port 54349, stopped on exit).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bin="${CARGO_TARGET_DIR:-target}/release/prodlink"
work="$(mktemp -d)"
pids=()
pg_port=54349
pg_started=""
bench_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -n "$pg_started" ]; then scripts/pg.sh stop "$pg_port"; fi
  rm -rf "$work"
}
trap bench_cleanup EXIT

# Installs wrk when it is missing (Debian).
need_wrk() {
  command -v wrk >/dev/null || { echo "installing wrk"; apt-get install -y -q wrk >/dev/null; }
}

# Starts the benchmark PostgreSQL (kept between runs: its databases survive a stop).
bench_pg() {
  scripts/pg.sh start "$pg_port" >/dev/null
  pg_started=1
}

# The median of the numbers in a file (one per line).
median_of() { sort -n "$1" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
