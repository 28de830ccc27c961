#!/usr/bin/env bash
# Hosted product pages in headless Chromium: starts prodlink with the demo catalog, then
# check.mjs screenshots pages at phone and desktop widths (saved to SCREENSHOT_DIR, default
# target/screenshots) and runs axe-core on each.
#   tests/external/hosted-page/run.sh [PRODLINK_BINARY] [SCREENSHOT_DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../lib.sh
source "$here/../lib.sh"
root="$(cd "$here/../../.." && pwd)"
bin="${1:-${CARGO_TARGET_DIR:-$root/target}/debug/prodlink}"
shots="${2:-${CARGO_TARGET_DIR:-$root/target}/screenshots}"
[ -x "$bin" ] || { echo "no prodlink binary at $bin (run cargo build first)"; exit 2; }
command -v "${CHROMIUM:-chromium}" >/dev/null || { echo "installing chromium"; apt-get install -y -q --no-install-recommends chromium >/dev/null; }
[ -d "$here/node_modules" ] || npm ci --prefix "$here" --no-audit --no-fund --loglevel=error

work="$(mktemp -d)"
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
PRODLINK_LOG=warn "$bin" --database "sqlite://$work/demo.db" serve --demo --addr 127.0.0.1:0 \
  --url-check-interval-secs 0 >"$work/out" 2>"$work/err" &
pid=$!
base="$(wait_listening "$work/out" "$work/err" "$pid")"
# A product with ingredients and nutrition, one with a brand and a hosted-page rule, and an
# unknown product (the friendly 404 page comes from the resolver's problem answer, so the
# page checked there is a known GTIN without extras).
# Nearby availability: a demo product sold in Sikeston, MO, seen from there.
NEARBY_PATH=/01/00070309071537 NEARBY_AT=36.8912,-89.5836 \
  node "$here/check.mjs" "$base" "$shots" /01/03258561120546 /01/00009542015190 /01/00000087177756
