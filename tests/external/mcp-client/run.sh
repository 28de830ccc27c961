#!/usr/bin/env bash
# Starts prodlink with the demo catalog on a free port, waits until it is ready and its search
# index is built, then runs check.mjs (the official MCP TypeScript SDK client) against it.
#   tests/external/mcp-client/run.sh [PRODLINK_BINARY]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../lib.sh
source "$here/../lib.sh"
check_setup "$here" "${1:-}"
serve_demo
# Wait for the background search indexer to finish (health reports what is pending).
node -e '
  const url = process.argv[1] + "/mcp/health";
  const deadline = Date.now() + 120000;
  (async () => {
    for (;;) {
      const h = await (await fetch(url)).json();
      if (h.search.lexical.pending === 0 && h.search.index_coverage.lexical >= 1) return;
      if (Date.now() > deadline) { console.error("search index not built in time"); process.exit(1); }
      await new Promise((r) => setTimeout(r, 200));
    }
  })();' "$base"
node "$here/check.mjs" "$base/mcp/http"
