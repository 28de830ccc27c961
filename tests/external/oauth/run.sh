#!/usr/bin/env bash
# Runs the strict OAuth client check (oauth4webapi) against a live prodlink: creates a user
# and a confidential client with the CLI, starts `prodlink serve` on a free port with a
# matching site URL, then runs check.mjs.
#   tests/external/oauth/run.sh [PRODLINK_BINARY]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../lib.sh
source "$here/../lib.sh"
check_setup "$here" "${1:-}"
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
pids+=($!)
wait_listening "$work/out" "$work/err" "${pids[-1]}" >/dev/null
node "$here/check.mjs" "$site" "$email" "$password" "$client_id" "$client_secret"
