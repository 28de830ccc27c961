#!/usr/bin/env bash
# Runs the strict OAuth client check (oauth4webapi) against a live prodlink: creates a user
# and a confidential client with the CLI, starts `prodlink serve` on a free port with a
# matching site URL, then runs check.mjs.
#   tests/external/oauth/run.sh [PRODLINK_BINARY]
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
export PRODLINK_LOG=warn PRODLINK_DATABASE="sqlite://$work/oauth.db"
port="$(free_port)"
site="http://127.0.0.1:$port"
email="oauth-check@example.com"
password="a long test password $RANDOM"
printf '%s\n' "$password" | "$bin" user add --email "$email" >/dev/null
"$bin" client add --name "Introspecting service" --confidential --scope "qr:generate" \
  --redirect-uri "https://service.example/cb" >"$work/client"
client_id="$(sed -n 's/^client_id=//p' "$work/client")"
client_secret="$(sed -n 's/^client_secret=//p' "$work/client")"
"$bin" serve --addr "127.0.0.1:$port" --site-url "$site" >"$work/out" 2>"$work/err" &
pid=$!
wait_listening "$work/out" "$work/err" "$pid" >/dev/null
node "$here/check.mjs" "$site" "$email" "$password" "$client_id" "$client_secret"
