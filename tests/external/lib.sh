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
