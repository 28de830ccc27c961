#!/usr/bin/env bash
# Runs the official MCP conformance suite (pinned; needs Node 22, fetched from npm as the
# `node@22` package) against a live prodlink MCP endpoint with the suite's fixture tools
# (the web crate's conformance_server example, a test-only build). Scenarios prodlink does not
# support are listed with their reason in expected-failures.yml.
#   tests/external/conformance/run.sh [TARGET_DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
target="${1:-${CARGO_TARGET_DIR:-$root/target}}"
SUITE_VERSION="0.2.0-alpha.12"

cd "$root"
cargo build --locked -q -p web --example conformance_server --features conformance-fixtures
work="$(mktemp -d)"
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

"$target/debug/examples/conformance_server" "$work/conformance.db" 127.0.0.1:0 >"$work/out" 2>"$work/err" &
server_pid=$!
for _ in $(seq 100); do
  grep -q "listening on" "$work/out" 2>/dev/null && break
  sleep 0.1
done
base="$(sed -n 's/^listening on //p' "$work/out")"
[ -n "$base" ] || { echo "conformance server did not start"; cat "$work/err"; exit 1; }
echo "conformance server at $base"

npx -y -p node@22 -p "@modelcontextprotocol/conformance@$SUITE_VERSION" -- \
  conformance server --url "$base/mcp/http" --suite active --spec-version 2025-11-25 \
  --expected-failures "$here/expected-failures.yml" -o "$work/results"
