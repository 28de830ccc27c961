#!/usr/bin/env bash
# Runs the official MCP conformance suite (pinned; needs Node 22, fetched from npm as the
# `node@22` package) against a live prodlink MCP endpoint with the suite's fixture tools
# (the web crate's conformance_server example, a test-only build). Scenarios prodlink does not
# support are listed with their reason in expected-failures.yml.
#   tests/external/conformance/run.sh [TARGET_DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../lib.sh
source "$here/../lib.sh"
root="$(cd "$here/../../.." && pwd)"
target="${1:-${CARGO_TARGET_DIR:-$root/target}}"
SUITE_VERSION="0.2.0-alpha.12"

cd "$root"
# `cargo test` (scripts/test.sh) builds the example with everything else: no second build.
[ -x "$target/debug/examples/conformance_server" ] \
  || cargo build --locked -q -p web --example conformance_server
work="$(mktemp -d)"
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

"$target/debug/examples/conformance_server" "$work/conformance.db" 127.0.0.1:0 >"$work/out" 2>"$work/err" &
server_pid=$!
base="$(wait_listening "$work/out" "$work/err" "$server_pid")"
echo "conformance server at $base"

npx -y -p node@22 -p "@modelcontextprotocol/conformance@$SUITE_VERSION" -- \
  conformance server --url "$base/mcp/http" --suite active --spec-version 2025-11-25 \
  --expected-failures "$here/expected-failures.yml" -o "$work/results"

# The authorization-server scenarios, against `prodlink serve` itself: discovery metadata and
# the authorization code grant with a pre-registered public client, once without resource or
# scope (defaults apply) and once naming the MCP resource. The suite prints the authorization
# URL; drive-authorization.mjs signs in and consents like a person would. (The suite picks
# token endpoint auth "none" whenever the server lists it, so it cannot exercise confidential
# clients against a server that also serves public ones; oauth4webapi covers those in
# tests/external/oauth.)
bin="$target/debug/prodlink"
[ -x "$bin" ] || cargo build --locked -q -p prodlink
as_port="$(free_port)"
cb_port="$(free_port)"
site="http://127.0.0.1:$as_port"
export PRODLINK_LOG=warn PRODLINK_DATABASE="sqlite://$work/as.db"
email="conformance@example.com"
password="conformance password $RANDOM"
printf '%s\n' "$password" | "$bin" user add --email "$email" >/dev/null
"$bin" client add --name "MCP conformance (public)" --client-id conformance-public \
  --redirect-uri "http://127.0.0.1:$cb_port/callback" >/dev/null
"$bin" serve --addr "127.0.0.1:$as_port" --site-url "$site" >"$work/as.out" 2>"$work/as.err" &
as_pid=$!
trap 'kill $as_pid 2>/dev/null || true; cleanup' EXIT
wait_listening "$work/as.out" "$work/as.err" "$as_pid" >/dev/null
C=(npx -y -p node@22 -p "@modelcontextprotocol/conformance@$SUITE_VERSION" -- conformance authorization --url "$site" -p "$cb_port")
node "$here/drive-authorization.mjs" "$email" "$password" -- "${C[@]}" --client-id conformance-public
node "$here/drive-authorization.mjs" "$email" "$password" -- "${C[@]}" --client-id conformance-public \
  --resource "$site/mcp/http"
