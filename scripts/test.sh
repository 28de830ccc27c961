#!/usr/bin/env bash
# Runs the whole test suite: the Rust tests of every crate, then the Node checks of
# tests/external (GS1's digital-link.js validates every Digital Link URI the Rust tests built).
# Needs: a Rust toolchain, Node.js >= 20 with npm (the npm packages are installed here).
set -euo pipefail
cd "$(dirname "$0")/.."

uri_log="$PWD/target/dl-uris.txt"
mkdir -p target
rm -f "$uri_log"
export PRODLINK_DL_URI_LOG="$uri_log"

echo "== Rust tests"
cargo test --workspace --locked --features gs1/record-uris

echo "== Node checks (tests/external)"
if [ ! -d tests/external/digital-link/node_modules ]; then
  npm ci --prefix tests/external/digital-link --no-audit --no-fund --loglevel=error
fi
node tests/external/digital-link/check-uris.js --self-test
node tests/external/digital-link/check-uris.js "$uri_log"
echo "== all tests passed"
