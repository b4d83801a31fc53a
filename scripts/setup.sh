#!/usr/bin/env bash
# Installs and starts what Executor needs on a Debian host, idempotently:
# docker.io, nats-server, debootstrap (and runsc when available) from Debian,
# a running dockerd and nats-server on 127.0.0.1, the locally built base image
# and the template images. Quick when everything is already in place.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE_DIR="${EXECUTOR_STATE_DIR:-$ROOT/.executor}"
NATS_PORT="${NATS_PORT:-4222}"
mkdir -p "$STATE_DIR"

log() { printf '[setup] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

install_packages() {
  local missing=()
  command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
  command -v nats-server >/dev/null 2>&1 || missing+=(nats-server)
  command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
  command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
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

install_node_modules() {
  if [ ! -d "$ROOT/node_modules" ] || [ "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ]; then
    log "installing npm dependencies"
    (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

install_packages
configure_runsc
start_docker
start_nats
install_node_modules
"$ROOT/scripts/build-images.sh"
log "ready"
