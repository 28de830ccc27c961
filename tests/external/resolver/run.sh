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
check_setup "$here" "${1:-}"
serve_demo --url-check-interval-secs 0
node "$here/check.mjs" "$base" /01/00009542009069 /01/00009542009588/10/L2026A \
  /01/00009542009588/10/NOSUCHLOT/21/S-1 /01/03258561120546 /01/00009542015190
