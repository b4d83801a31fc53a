#!/usr/bin/env bash
# Deploys Executor with docker-compose on this Docker host, idempotently:
#   1. an online backup of the SQLite event store (SQLite's backup API, through the repo's
#      better-sqlite3) into backups/events-<timestamp>.sqlite;
#   2. the base and template images (scripts/build-images.sh), the NATS image when missing,
#      and the app image (docker-compose build);
#   3. a rolling restart: `docker-compose up -d --no-deps <service>` one service at a time,
#      each waited for until healthy; an unchanged service is left running as it is;
#   4. a final check of http://127.0.0.1:<port>/health (loopback only), with retries.
# Log rotation is Docker's json-file driver with max-size/max-file, set in docker-compose.yml.
# Run `scripts/deploy-executor-production.sh --help` for the options and variables.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
COMPOSE_FILE_PATH="$ROOT/docker-compose.yml"
BACKUP_DIR="${EXECUTOR_BACKUP_DIR:-$ROOT/backups}"
BACKUP_KEEP="${EXECUTOR_BACKUP_KEEP:-10}"
HEALTH_TIMEOUT_S="${EXECUTOR_HEALTH_TIMEOUT_S:-180}"
HEALTH_RETRIES="${EXECUTOR_HEALTH_RETRIES:-30}"
DEFAULT_NATS_IMAGE="nats:2.9-alpine"
LOCAL_NATS_IMAGE="executor/nats:local"
# Restart order: NATS first, then the services the API depends on, the API last.
SERVICES=(nats runner template-service session-service metrics api)
DATA_SERVICES=(session-service runner template-service metrics)

SKIP_BACKUP=0
SKIP_HEALTH=0

usage() {
  cat <<'EOF'
Usage: scripts/deploy-executor-production.sh [--skip-backup] [--skip-health-check] [--help]

Deploys Executor with docker-compose on this host: backs up the event store, builds the
images, restarts the services one at a time and checks the API's health on loopback.
Running it again with nothing changed leaves the running services alone.

Options:
  --skip-backup         do not back up the event store first
  --skip-health-check   do not wait for each service to be healthy (only running) and do not
                        check http://127.0.0.1:<port>/health at the end
  -h, --help            show this help and exit

Environment (also read from .env beside docker-compose.yml where noted):
  EXECUTOR_API_KEYS / API_KEYS_FILE   API keys (.env); one of them is required
  DOCKER_GID                          group of /var/run/docker.sock (default: read from it)
  EXECUTOR_API_PORT                   loopback port of the API (.env; default 8080)
  EXECUTOR_NATS_IMAGE                 NATS image (.env; default nats:2.9-alpine; when it is
                                      missing and cannot be pulled, executor/nats:local is
                                      built from Debian's nats-server on the local base image)
  EXECUTOR_OFFLINE=1                  never pull images from a registry
  EXECUTOR_BUILD_CA_FILE              PEM file of an extra CA for npm during the image build
  EXECUTOR_BACKUP_DIR                 where backups go (default: backups/ in the repository)
  EXECUTOR_BACKUP_KEEP                backups to keep (default 10; 0 keeps all)
  EXECUTOR_HEALTH_TIMEOUT_S           seconds to wait for each service (default 180)
  EXECUTOR_HEALTH_RETRIES             tries of the final health check, 2 s apart (default 30)
EOF
}

while [ "$#" -gt 0 ]; do
  case "$1" in
    --skip-backup) SKIP_BACKUP=1 ;;
    --skip-health-check) SKIP_HEALTH=1 ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      printf 'unknown option: %s\n\n' "$1" >&2
      usage >&2
      exit 2
      ;;
  esac
  shift
done

log() { printf '[deploy] %s\n' "$*" >&2; }
die() {
  printf '[deploy] error: %s\n' "$*" >&2
  exit 1
}

# A variable from the environment, else from .env (the last assignment, quotes removed).
setting() {
  local name="$1" value="${!1:-}"
  if [ -z "$value" ] && [ -f "$ROOT/.env" ]; then
    value="$(sed -n "s/^[[:space:]]*${name}[[:space:]]*=[[:space:]]*//p" "$ROOT/.env" | tail -n 1)"
    value="${value%\"}" && value="${value#\"}" && value="${value%\'}" && value="${value#\'}"
  fi
  printf '%s' "$value"
}

# ------------------------------------------------------------------------------ preflight
cd "$ROOT"
command -v docker >/dev/null 2>&1 || die "docker is not installed (scripts/setup.sh installs docker.io)"
docker info >/dev/null 2>&1 || die "the Docker engine does not answer (is dockerd running? are you root?)"
if command -v docker-compose >/dev/null 2>&1; then
  COMPOSE=(docker-compose -f "$COMPOSE_FILE_PATH")
elif docker compose version >/dev/null 2>&1; then
  COMPOSE=(docker compose -f "$COMPOSE_FILE_PATH")
else
  die "neither docker-compose nor 'docker compose' is available (apt-get install docker-compose)"
fi

# One deploy at a time on this host.
if command -v flock >/dev/null 2>&1; then
  exec 9>"${TMPDIR:-/tmp}/executor-deploy.lock"
  flock -n 9 || die "another deploy is running"
fi

if [ -z "$(setting EXECUTOR_API_KEYS)" ] && [ -z "$(setting API_KEYS_FILE)" ]; then
  die "no API keys: set EXECUTOR_API_KEYS=tenant:role:key (or API_KEYS_FILE) in $ROOT/.env; the API refuses to listen beyond loopback without keys (docs/deployment.md)"
fi

if [ -z "${DOCKER_GID:-}" ]; then
  [ -S /var/run/docker.sock ] || die "/var/run/docker.sock is missing; set DOCKER_GID by hand"
  DOCKER_GID="$(stat -c %g /var/run/docker.sock)"
fi
export DOCKER_GID

if [ -n "${EXECUTOR_BUILD_CA_FILE:-}" ]; then
  [ -r "$EXECUTOR_BUILD_CA_FILE" ] || die "EXECUTOR_BUILD_CA_FILE $EXECUTOR_BUILD_CA_FILE is not readable"
  EXECUTOR_BUILD_CA_CERTS="$(cat "$EXECUTOR_BUILD_CA_FILE")"
  export EXECUTOR_BUILD_CA_CERTS
fi

API_PORT="$(setting EXECUTOR_API_PORT)"
API_PORT="${API_PORT:-8080}"
HEALTH_URL="http://127.0.0.1:${API_PORT}/health"

"${COMPOSE[@]}" config -q || die "docker-compose.yml is not valid with this environment"
log "using ${COMPOSE[*]:0:1} with $(basename "$COMPOSE_FILE_PATH"), docker group $DOCKER_GID, API on 127.0.0.1:$API_PORT"

# --------------------------------------------------------------------------------- backup
# The host path of the volume mounted on /data in an existing container of the stack.
data_dir() {
  local svc cid dir
  for svc in "${DATA_SERVICES[@]}"; do
    cid="$("${COMPOSE[@]}" ps -q "$svc" 2>/dev/null | head -n 1 || true)"
    [ -n "$cid" ] || continue
    dir="$(docker inspect -f '{{range .Mounts}}{{if eq .Destination "/data"}}{{.Source}}{{end}}{{end}}' "$cid" 2>/dev/null || true)"
    if [ -n "$dir" ]; then
      printf '%s' "$dir"
      return 0
    fi
  done
  return 1
}

backup_event_store() {
  local dir db dest
  if ! dir="$(data_dir)"; then
    log "backup: no container of the stack exists yet (first deploy?): nothing to back up"
    return 0
  fi
  db="$dir/events.sqlite"
  if [ ! -f "$db" ]; then
    log "backup: $db does not exist yet: nothing to back up"
    return 0
  fi
  command -v node >/dev/null 2>&1 || die "backup: node is needed on the host (scripts/setup.sh), or pass --skip-backup"
  node -e "require(require.resolve('better-sqlite3', { paths: [process.argv[1]] }))" "$ROOT" 2>/dev/null ||
    die "backup: better-sqlite3 is not installed in $ROOT/node_modules (run npm ci), or pass --skip-backup"
  mkdir -p "$BACKUP_DIR"
  chmod 700 "$BACKUP_DIR"
  dest="$BACKUP_DIR/events-$(date -u +%Y%m%dT%H%M%SZ).sqlite"
  log "backup: $db -> $dest (online, SQLite backup API)"
  # The services keep writing meanwhile: the backup API copies a consistent snapshot.
  # shellcheck disable=SC2016 # JavaScript, not shell, in single quotes
  node -e '
    const [root, src, dest] = process.argv.slice(1);
    const fail = (err) => {
      console.error(`[deploy] backup failed: ${err.message}`);
      process.exit(1);
    };
    try {
      const Database = require(require.resolve("better-sqlite3", { paths: [root] }));
      const db = new Database(src, { fileMustExist: true });
      db.pragma("busy_timeout = 10000");
      db.backup(dest)
        .then(() => {
          db.close();
          // A self-contained copy: rollback journal instead of WAL, so no -wal/-shm beside it.
          const copy = new Database(dest);
          copy.pragma("journal_mode = DELETE");
          const check = copy.pragma("quick_check", { simple: true });
          const table = copy.prepare("SELECT 1 FROM sqlite_master WHERE type = ? AND name = ?").get("table", "events");
          const events = table ? copy.prepare("SELECT count(*) AS n FROM events").get().n : 0;
          copy.close();
          if (check !== "ok") throw new Error(`quick_check of the copy: ${check}`);
          console.error(`[deploy] backup: ok (${events} events, quick_check ok)`);
        })
        .catch(fail);
    } catch (err) {
      fail(err);
    }
  ' "$ROOT" "$db" "$dest" || {
    rm -f "$dest"
    die "backup failed; nothing was changed"
  }
  # Opening the store as root may have created its -wal/-shm files: give them back to the
  # services' user, or they could not open the store any more.
  local f
  for f in "$db-wal" "$db-shm"; do
    [ -e "$f" ] && chown --reference="$db" "$f"
  done
  chmod 600 "$dest"
  if [ "$BACKUP_KEEP" -gt 0 ] 2>/dev/null; then
    local old
    while IFS= read -r old; do
      log "backup: removing old backup $old"
      rm -f "$old"
    done < <(find "$BACKUP_DIR" -maxdepth 1 -name 'events-*.sqlite' -type f | LC_ALL=C sort -r | tail -n "+$((BACKUP_KEEP + 1))")
  fi
}

if [ "$SKIP_BACKUP" = 1 ]; then
  log "backup: skipped (--skip-backup)"
else
  backup_event_store
fi

# --------------------------------------------------------------------------------- images
log "images: base and templates (scripts/build-images.sh; unchanged ones are kept)"
bash "$ROOT/scripts/build-images.sh"

NATS_IMAGE="$(setting EXECUTOR_NATS_IMAGE)"
NATS_IMAGE="${NATS_IMAGE:-$DEFAULT_NATS_IMAGE}"
if ! docker image inspect "$NATS_IMAGE" >/dev/null 2>&1; then
  if [ "${EXECUTOR_OFFLINE:-0}" != 1 ] && [ "$NATS_IMAGE" != "$LOCAL_NATS_IMAGE" ] &&
    timeout 120 docker pull "$NATS_IMAGE" >/dev/null 2>&1; then
    log "images: pulled $NATS_IMAGE"
  elif [ "$NATS_IMAGE" = "$DEFAULT_NATS_IMAGE" ] || [ "$NATS_IMAGE" = "$LOCAL_NATS_IMAGE" ]; then
    log "images: $NATS_IMAGE is not available: building $LOCAL_NATS_IMAGE from Debian's nats-server"
    base="${EXECUTOR_BASE_IMAGE:-executor/base:bookworm}"
    docker build -q -t "$LOCAL_NATS_IMAGE" --build-arg "BASE_IMAGE=$base" - >/dev/null <<'EOF'
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nats-server >/dev/null \
    && rm -rf /var/lib/apt/lists/*
ENTRYPOINT ["nats-server"]
EOF
    NATS_IMAGE="$LOCAL_NATS_IMAGE"
    log "images: $LOCAL_NATS_IMAGE ready; put EXECUTOR_NATS_IMAGE=$LOCAL_NATS_IMAGE in .env for docker-compose runs by hand"
  else
    die "images: $NATS_IMAGE is neither present nor pullable"
  fi
elif [ "$NATS_IMAGE" = "$LOCAL_NATS_IMAGE" ]; then
  log "images: using $LOCAL_NATS_IMAGE"
fi
export EXECUTOR_NATS_IMAGE="$NATS_IMAGE"

log "images: the app image (docker-compose build)"
"${COMPOSE[@]}" build

# ------------------------------------------------------------------------ rolling restart
# Waits until the service's container is healthy (or only running with --skip-health-check).
wait_for() {
  local svc="$1" cid state health deadline
  cid="$("${COMPOSE[@]}" ps -q "$svc" | head -n 1)"
  [ -n "$cid" ] || die "$svc: no container after docker-compose up"
  deadline=$((SECONDS + HEALTH_TIMEOUT_S))
  while :; do
    state="$(docker inspect -f '{{.State.Status}}' "$cid" 2>/dev/null || echo missing)"
    health="$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$cid" 2>/dev/null || echo none)"
    if [ "$state" = running ]; then
      if [ "$SKIP_HEALTH" = 1 ] || [ "$health" = healthy ] || [ "$health" = none ]; then
        log "restart: $svc is $state${health:+ ($health)}"
        return 0
      fi
    fi
    if [ "$state" = exited ] || [ "$state" = dead ] || [ "$state" = missing ] || [ "$health" = unhealthy ] ||
      [ "$SECONDS" -ge "$deadline" ]; then
      log "restart: $svc is $state, health $health; its last log lines:"
      docker logs --tail 30 "$cid" >&2 2>&1 || true
      die "$svc did not become healthy; the services after it were not restarted"
    fi
    sleep 2
  done
}

for svc in "${SERVICES[@]}"; do
  log "restart: $svc"
  "${COMPOSE[@]}" up -d --no-deps "$svc"
  wait_for "$svc"
done

# ---------------------------------------------------------------------------- log rotation
api_cid="$("${COMPOSE[@]}" ps -q api | head -n 1)"
log "logs: rotated by Docker (docker-compose.yml x-logging): $(docker inspect -f '{{.HostConfig.LogConfig.Type}} {{range $k, $v := .HostConfig.LogConfig.Config}}{{$k}}={{$v}} {{end}}' "$api_cid")on every service; nothing written to /etc/logrotate.d"

# ---------------------------------------------------------------------------- final check
# Prints "<status> <body>" of GET $HEALTH_URL (loopback only), with curl or else node.
get_health() {
  if command -v curl >/dev/null 2>&1; then
    local out code
    out="$(mktemp)"
    code="$(curl -sS --max-time 10 -o "$out" -w '%{http_code}' "$HEALTH_URL" 2>/dev/null || true)"
    printf '%s %s' "${code:-000}" "$(head -c 2000 "$out")"
    rm -f "$out"
  else
    # shellcheck disable=SC2016 # JavaScript, not shell, in single quotes
    node -e '
      fetch(process.argv[1], { signal: AbortSignal.timeout(10000) })
        .then(async (r) => process.stdout.write(`${r.status} ${(await r.text()).slice(0, 2000)}`))
        .catch(() => process.stdout.write("000"));
    ' "$HEALTH_URL"
  fi
}

if [ "$SKIP_HEALTH" = 1 ]; then
  log "health: skipped (--skip-health-check)"
else
  answer=""
  for i in $(seq 1 "$HEALTH_RETRIES"); do
    answer="$(get_health || true)"
    if [ "${answer%% *}" = 200 ]; then
      log "health: $HEALTH_URL answered ${answer}"
      break
    fi
    [ "$i" -lt "$HEALTH_RETRIES" ] || die "health: $HEALTH_URL did not answer 200 after $HEALTH_RETRIES tries; last: ${answer:-no answer}"
    sleep 2
  done
fi

log "deployed: $("${COMPOSE[@]}" ps --services | tr '\n' ' ')"
