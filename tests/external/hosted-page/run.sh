#!/usr/bin/env bash
# Hosted product pages in headless Chromium: starts prodlink with the demo catalog, then
# check.mjs screenshots pages at phone and desktop widths (saved to SCREENSHOT_DIR, default
# target/screenshots) and runs axe-core on each.
#   tests/external/hosted-page/run.sh [PRODLINK_BINARY] [SCREENSHOT_DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../lib.sh
source "$here/../lib.sh"
check_setup "$here" "${1:-}"
shots="${2:-${CARGO_TARGET_DIR:-$root/target}/screenshots}"
command -v "${CHROMIUM:-chromium}" >/dev/null || { echo "installing chromium"; apt-get install -y -q --no-install-recommends chromium >/dev/null; }
serve_demo --url-check-interval-secs 0
# A product with ingredients and nutrition, one with a brand and a hosted-page rule, and an
# unknown product (the friendly 404 page comes from the resolver's problem answer, so the
# page checked there is a known GTIN without extras).
# Nearby availability: a demo product sold in Sikeston, MO (and without a resolver rule:
# the Lindt products redirect in December), seen from there.
NEARBY_PATH=/01/05000396033359 NEARBY_AT=36.8912,-89.5836 \
  node "$here/check.mjs" "$base" "$shots" /01/03258561120546 /01/00009542015190 /01/00000087177756
