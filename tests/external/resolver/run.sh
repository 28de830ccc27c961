#!/usr/bin/env bash
# The resolver against GS1's linkset and description-file constraints: starts prodlink with the
# demo catalog (whose rules include a brand URL, a recall link, a batch rule and a link in two
# languages) and runs check.mjs over items with and without rules, at product, batch and
# serial level.
#   tests/external/resolver/run.sh [PRODLINK_BINARY]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../lib.sh
source "$here/../lib.sh"
root="$(cd "$here/../../.." && pwd)"
bin="${1:-${CARGO_TARGET_DIR:-$root/target}/debug/prodlink}"
[ -x "$bin" ] || { echo "no prodlink binary at $bin (run cargo build first)"; exit 2; }
[ -d "$here/node_modules" ] || npm ci --prefix "$here" --no-audit --no-fund --loglevel=error

work="$(mktemp -d)"
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
PRODLINK_LOG=warn "$bin" --database "sqlite://$work/demo.db" serve --demo --addr 127.0.0.1:0 \
  --url-check-interval-secs 0 >"$work/out" 2>"$work/err" &
pid=$!
base="$(wait_listening "$work/out" "$work/err" "$pid")"
node "$here/check.mjs" "$base" /01/00009542009069 /01/00009542009588/10/L2026A \
  /01/00009542009588/10/NOSUCHLOT/21/S-1 /01/03258561120546 /01/00009542015190
