#!/usr/bin/env bash
# Step-up authorization with the official MCP TypeScript SDK client against a live prodlink,
# twice: with Dynamic Client Registration at /mcp/http, and with a Client ID Metadata Document
# at /mcp. The metadata document is served over https by a local Node server with a throwaway
# CA made here with openssl; prodlink trusts that CA and loopback addresses only through
# test-only flags (--cimd-ca-file, --cimd-allow-private).
#   tests/external/mcp-client/auth-run.sh [PRODLINK_BINARY]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../lib.sh
source "$here/../lib.sh"
check_setup "$here" "${1:-}"

# A throwaway CA and a certificate for localhost.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=prodlink test CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
  -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$work/doc.key" -out "$work/doc.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$work/ext"
openssl x509 -req -in "$work/doc.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial \
  -days 2 -extfile "$work/ext" -out "$work/doc.pem" 2>/dev/null

doc_port="$(free_port)"
metadata_url="https://localhost:$doc_port/oauth/client-metadata.json"
cat >"$work/client-metadata.json" <<JSON
{"client_id": "$metadata_url", "client_name": "prodlink SDK step-up check (CIMD)",
 "client_uri": "https://localhost:$doc_port/",
 "redirect_uris": ["http://127.0.0.1:53682/callback"], "grant_types": ["authorization_code", "refresh_token"],
 "response_types": ["code"], "token_endpoint_auth_method": "none"}
JSON
node -e '
  const [key, cert, doc, port] = process.argv.slice(1);
  const fs = require("fs");
  require("https").createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(cert) }, (req, res) => {
    if (req.url === "/oauth/client-metadata.json") {
      res.writeHead(200, { "content-type": "application/json", "cache-control": "max-age=300" });
      res.end(fs.readFileSync(doc));
    } else { res.writeHead(404); res.end(); }
  }).listen(Number(port), "127.0.0.1");' "$work/doc.key" "$work/doc.pem" "$work/client-metadata.json" "$doc_port" &
pids+=($!)

export PRODLINK_LOG=warn PRODLINK_DATABASE="sqlite://$work/auth.db"
port="$(free_port)"
site="http://127.0.0.1:$port"
email="sdk-check@example.com"
password="another long test password $RANDOM"
printf '%s\n' "$password" | "$bin" user add --email "$email" >/dev/null
"$bin" serve --addr "127.0.0.1:$port" --site-url "$site" \
  --cimd-allow-private --cimd-ca-file "$work/ca.pem" >"$work/out" 2>"$work/err" &
pids+=($!)
wait_listening "$work/out" "$work/err" "${pids[-1]}" >/dev/null

node "$here/auth-check.mjs" "$site/mcp/http" "$email" "$password"
node "$here/auth-check.mjs" "$site/mcp" "$email" "$password" "$metadata_url"
