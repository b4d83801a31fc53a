#!/usr/bin/env bash
# Initialises the cluster on the first start (role and database `executor`, scram-sha-256
# over the network), then runs postgres in the foreground.
set -euo pipefail
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo 'executor-postgres: set EXECUTOR_POSTGRES_PASSWORD (POSTGRES_PASSWORD) for the first start' >&2
    exit 1
  fi
  pwfile="$(mktemp)"
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  initdb -D "$PGDATA" -U executor --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
    -E UTF8 --locale=C.UTF-8 >/dev/null
  rm -f "$pwfile"
  {
    echo "listen_addresses = '*'"
    echo "unix_socket_directories = '/var/run/postgresql'"
  } >>"$PGDATA/postgresql.conf"
  echo 'host all all 0.0.0.0/0 scram-sha-256' >>"$PGDATA/pg_hba.conf"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  createdb -h /var/run/postgresql -U executor -O executor executor
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  echo 'executor-postgres: initialised the cluster with the database executor'
fi
unset POSTGRES_PASSWORD
exec postgres -D "$PGDATA"
