#!/usr/bin/env bash
# Builds prodlink and serves the bundled demo catalog (Open Food Facts products, Walmart stores,
# generated demo offers) from an embedded SQLite database: no external server needed.
# Extra arguments go to `prodlink serve`, e.g. scripts/demo.sh --addr 0.0.0.0:8080
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --release --locked -p prodlink -- \
  --database "${PRODLINK_DATABASE:-sqlite://prodlink-demo.db}" serve --demo "$@"
