#!/usr/bin/env bash
# Installs (Debian package `postgresql`) and starts a throw-away PostgreSQL server for the
# test suite, then prints the line to export:
#   eval "$(bash scripts/setup-postgres.sh)"   # sets CHURNGUARD_TEST_PG_URL
# Idempotent: an installed package, an initialised data folder and a running server are
# left as they are. Port and folder: $CHURNGUARD_PG_PORT (54329), $CHURNGUARD_PG_DATA.
set -euo pipefail
PORT="${CHURNGUARD_PG_PORT:-54329}"
DATA="${CHURNGUARD_PG_DATA:-/tmp/churnguard-pg}"
DB="churnguard_test"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  echo "installing postgresql (apt-get)" >&2
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >&2
fi
BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
as_pg() { $SUDO runuser -u postgres -- "$@"; }

if [ ! -s "$DATA/PG_VERSION" ]; then
  $SUDO mkdir -p "$DATA"
  $SUDO chown postgres:postgres "$DATA"
  as_pg "$BIN/initdb" -D "$DATA" -A trust -U churnguard -E UTF8 >&2
fi
if ! as_pg "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
  as_pg "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w \
    -o "-p $PORT -k /tmp -c listen_addresses=127.0.0.1" start >&2
fi
if ! as_pg "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U churnguard -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
  as_pg "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U churnguard "$DB" >&2
fi
echo "export CHURNGUARD_TEST_PG_URL=postgresql+psycopg://churnguard@127.0.0.1:$PORT/$DB"
