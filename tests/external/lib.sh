# Shared by the tests/external run scripts (source it; it needs node on PATH).

# wait_listening OUT ERR PID [SECONDS]: waits until the server whose stdout goes to OUT prints
# `listening on URL`, then prints URL. Stops the calling script with the server's stderr (ERR)
# when the process dies or SECONDS (default 120) pass.
wait_listening() {
  local out="$1" err="$2" pid="$3" tenths=$(( ${4:-120} * 10 ))
  for _ in $(seq "$tenths"); do
    if grep -q "listening on" "$out" 2>/dev/null; then
      sed -n 's/^listening on //p' "$out"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "the server did not start" >&2
  cat "$err" >&2
  exit 1
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# check_setup HERE [BINARY]: the start of a run script living in HERE. Sets `root` (the
# repository), `bin` (BINARY, or the debug build), installs HERE's npm packages when missing,
# and makes `work`, a temporary directory removed on exit after every process in `pids` is
# stopped (append the background processes you start).
check_setup() {
  local here="$1"
  root="$(cd "$here/../../.." && pwd)"
  bin="${2:-${CARGO_TARGET_DIR:-$root/target}/debug/prodlink}"
  [ -x "$bin" ] || { echo "no prodlink binary at $bin (run cargo build first)"; exit 2; }
  [ -d "$here/node_modules" ] || npm ci --prefix "$here" --no-audit --no-fund --loglevel=error
  work="$(mktemp -d)"
  pids=()
  trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
}

# serve_demo [SERVE_ARGS…]: starts `prodlink serve --demo` on a free port with its database in
# `work`, waits until it listens and sets `base` to its URL.
serve_demo() {
  PRODLINK_LOG=warn "$bin" --database "sqlite://$work/demo.db" serve --demo --addr 127.0.0.1:0 \
    "$@" >"$work/out" 2>"$work/err" &
  pids+=($!)
  base="$(wait_listening "$work/out" "$work/err" "${pids[-1]}")"
}
