#!/usr/bin/env bash
# Installs and starts what Executor needs on a Debian host, idempotently:
# docker.io, nats-server, debootstrap (and runsc when available) from Debian,
# a running dockerd and nats-server on 127.0.0.1, a PostgreSQL cluster on
# 127.0.0.1 for the PostgreSQL event store (EXECUTOR_SKIP_POSTGRES=1 skips it),
# the locally built base image and the template images. Quick when everything
# is already in place.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE_DIR="${EXECUTOR_STATE_DIR:-$ROOT/.executor}"
NATS_PORT="${NATS_PORT:-4222}"
PG_PORT="${EXECUTOR_PG_PORT:-55432}"
# Outside the clone: the postgres user must reach it, and a clone under /root or /tmp it cannot.
PG_DIR="${EXECUTOR_PG_DIR:-/var/lib/executor/postgres}"
mkdir -p "$STATE_DIR"

log() { printf '[setup] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

install_packages() {
  local missing=()
  command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
  command -v nats-server >/dev/null 2>&1 || missing+=(nats-server)
  command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
  command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
  [ -f /usr/lib/python3/dist-packages/pytest/__init__.py ] || missing+=(python3-pytest)
  command -v logrotate >/dev/null 2>&1 || missing+=(logrotate)
  command -v cron >/dev/null 2>&1 || missing+=(cron)
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  # Debian's chromium: the web console's browser tests drive it with puppeteer-core (no download).
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  # jemalloc for the apps (scripts/run-stack.js): it gives back what large outputs fragmented.
  ldconfig -p 2>/dev/null | grep -q 'libjemalloc\.so\.2' || missing+=(libjemalloc2)
  if [ "${EXECUTOR_SKIP_RUNSC:-0}" != "1" ] && ! command -v runsc >/dev/null 2>&1; then
    missing+=(runsc)
  fi
  if [ "${#missing[@]}" -gt 0 ]; then
    log "installing ${missing[*]} from Debian"
    as_root apt-get update -qq
    # runsc is optional: retry without it if it is not available.
    if ! DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null; then
      local required=()
      for p in "${missing[@]}"; do [ "$p" = runsc ] || required+=("$p"); done
      [ "${#required[@]}" -eq 0 ] || DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${required[@]}" >/dev/null
    fi
  fi
}

configure_runsc() {
  command -v runsc >/dev/null 2>&1 || return 0
  local conf=/etc/docker/daemon.json
  if [ ! -f "$conf" ] || ! grep -q runsc "$conf"; then
    log "registering the runsc runtime with Docker"
    as_root mkdir -p /etc/docker
    if [ -f "$conf" ] && [ -s "$conf" ]; then
      node -e '
        const fs = require("fs"); const f = process.argv[1];
        const c = JSON.parse(fs.readFileSync(f, "utf8"));
        c.runtimes = Object.assign({}, c.runtimes, { runsc: { path: "/usr/bin/runsc", runtimeArgs: ["--network=none"] } });
        fs.writeFileSync(f, JSON.stringify(c, null, 2));' "$conf"
    else
      echo '{"runtimes":{"runsc":{"path":"/usr/bin/runsc","runtimeArgs":["--network=none"]}}}' | as_root tee "$conf" >/dev/null
    fi
    # A running engine only picks the runtime up on restart; the next start will.
    if docker info >/dev/null 2>&1 && [ -f /var/run/docker.pid ]; then
      as_root kill -HUP "$(cat /var/run/docker.pid)" 2>/dev/null || true
    fi
  fi
}

start_docker() {
  if docker info >/dev/null 2>&1; then return 0; fi
  log "starting dockerd"
  # A dockerd killed earlier leaves its pid file behind and refuses to start.
  if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
    as_root rm -f /var/run/docker.pid
  fi
  if [ -f /var/run/docker/containerd/containerd.pid ] && ! kill -0 "$(cat /var/run/docker/containerd/containerd.pid)" 2>/dev/null; then
    as_root rm -f /var/run/docker/containerd/containerd.pid
  fi
  as_root bash -c 'nohup dockerd >/var/log/executor-dockerd.log 2>&1 &'
  for _ in $(seq 1 120); do
    docker info >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  log "dockerd did not start; see /var/log/executor-dockerd.log"
  tail -n 30 /var/log/executor-dockerd.log >&2 || true
  exit 1
}

start_nats() {
  if [ "${EXECUTOR_SKIP_NATS:-0}" = "1" ]; then return 0; fi
  if (exec 3<>/dev/tcp/127.0.0.1/"$NATS_PORT") 2>/dev/null; then return 0; fi
  log "starting nats-server on 127.0.0.1:$NATS_PORT"
  nohup nats-server -c "$ROOT/config/nats.conf" -a 127.0.0.1 -p "$NATS_PORT" \
    >"$STATE_DIR/nats-server.log" 2>&1 &
  for _ in $(seq 1 50); do
    (exec 3<>/dev/tcp/127.0.0.1/"$NATS_PORT") 2>/dev/null && return 0
    sleep 0.1
  done
  log "nats-server did not start; see $STATE_DIR/nats-server.log"
  exit 1
}

# A cluster of our own (not Debian's `main`), run by the postgres user, listening on
# 127.0.0.1:$PG_PORT only, with role and database `executor` (password `executor`, CREATEDB
# so the tests can make throw-away databases). Reused when it is there and valid.
start_postgres() {
  if [ "${EXECUTOR_SKIP_POSTGRES:-0}" = "1" ]; then return 0; fi
  local bin data="$PG_DIR/data" run="$PG_DIR/run" pglog="$PG_DIR/postgres.log"
  bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  if [ -z "$bin" ] || [ ! -x "$bin/postgres" ]; then
    log "installing postgresql from Debian"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq postgresql >/dev/null
    bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
  fi
  as_pg() { (cd / && as_root runuser -u postgres -- "$@"); }
  as_root mkdir -p "$PG_DIR" "$run"
  as_root chown postgres:postgres "$PG_DIR" "$run"

  if as_root test -f "$data/PG_VERSION"; then
    # An existing cluster runs with the binaries of its own major version.
    local version
    version="$(as_root cat "$data/PG_VERSION")"
    bin="/usr/lib/postgresql/$version/bin"
    if [ ! -x "$bin/postgres" ]; then
      log "the cluster in $data is PostgreSQL $version, which is not installed; remove it or set EXECUTOR_PG_DIR"
      exit 1
    fi
  elif as_root test -e "$data" && [ -n "$(as_root ls -A "$data")" ]; then
    log "$data is not empty but holds no cluster; remove it or set EXECUTOR_PG_DIR"
    exit 1
  else
    log "creating a PostgreSQL cluster in $data"
    local out
    if ! out="$(as_pg "$bin/initdb" -D "$data" -U postgres -E UTF8 --no-locale \
      --auth-local=peer --auth-host=scram-sha-256 2>&1)"; then
      printf '%s\n' "$out" >&2
      exit 1
    fi
  fi

  # A postgres killed earlier leaves postmaster.pid behind; after a restart its pid may belong to
  # another process, and postgres then refuses to start. Only a live postgres keeps the file.
  local running=0 pid
  if as_root test -f "$data/postmaster.pid"; then
    pid="$(as_root head -n 1 "$data/postmaster.pid")"
    if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = postgres ]; then
      running=1
    else
      log "removing the stale postmaster.pid of a postgres that is gone"
      as_root rm -f "$data/postmaster.pid" "$run/.s.PGSQL.$PG_PORT.lock"
    fi
  fi
  if [ "$running" = 0 ]; then
    if (exec 3<>/dev/tcp/127.0.0.1/"$PG_PORT") 2>/dev/null; then
      log "127.0.0.1:$PG_PORT is taken by another process; set EXECUTOR_PG_PORT"
      exit 1
    fi
    log "starting postgres on 127.0.0.1:$PG_PORT ($data)"
    if ! as_pg "$bin/pg_ctl" -D "$data" -l "$pglog" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $run" start >/dev/null; then
      log "postgres did not start; see $pglog"
      as_root tail -n 30 "$pglog" >&2 || true
      exit 1
    fi
  fi
  for _ in $(seq 1 300); do
    "$bin/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" && break
    sleep 0.1
  done
  "$bin/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" || {
    log "postgres does not accept connections on 127.0.0.1:$PG_PORT; see $pglog"
    exit 1
  }

  local psql=("$bin/psql" -X -q -tA -v ON_ERROR_STOP=1 -h "$run" -p "$PG_PORT" -d postgres)
  if [ "$(as_pg "${psql[@]}" -c "SELECT 1 FROM pg_roles WHERE rolname = 'executor'")" != 1 ]; then
    log "creating role executor"
    as_pg "${psql[@]}" -c "CREATE ROLE executor LOGIN CREATEDB PASSWORD 'executor'"
  else
    as_pg "${psql[@]}" -c "ALTER ROLE executor LOGIN CREATEDB"
  fi
  if [ "$(as_pg "${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = 'executor'")" != 1 ]; then
    log "creating database executor"
    as_pg "${psql[@]}" -c "CREATE DATABASE executor OWNER executor"
  fi
}

install_node_modules() {
  # A linked node_modules (a git worktree sharing another tree's) is not ours to reinstall:
  # npm ci would empty the tree it points to.
  if [ -L "$ROOT/node_modules" ]; then return 0; fi
  if [ ! -d "$ROOT/node_modules" ] || [ "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ]; then
    log "installing npm dependencies"
    (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

# The n8n CLI for test/e2e/n8n.e2e-spec.ts, in a cache outside the project: in the background
# (a fresh install takes minutes; the spec waits for it), quick once the pinned version is there.
# EXECUTOR_SKIP_N8N=1 skips it.
start_n8n_install() {
  if [ "${EXECUTOR_SKIP_N8N:-0}" = "1" ]; then return 0; fi
  command -v flock >/dev/null 2>&1 || return 0
  nohup setsid bash "$ROOT/scripts/install-n8n.sh" >/dev/null 2>&1 &
}

install_packages
configure_runsc
start_docker
start_nats
start_postgres
install_node_modules
start_n8n_install
"$ROOT/scripts/build-images.sh"
log "ready"
