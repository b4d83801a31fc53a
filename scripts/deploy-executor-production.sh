#!/usr/bin/env bash
# Deploys Executor with Docker Compose on this Docker host, idempotently, and says what it did:
#   1. checks: Docker, a compose binary, cron, logrotate, flock (a clear error when one is missing);
#   2. images: the base and template images (scripts/build-images.sh), then the stack's images
#      (compose build: the apps and the Docker proxy, NATS, Prometheus; unchanged layers are reused);
#   3. plan: the services whose image or configuration differs from what runs;
#   4. backup of the event store, when something is about to change (SQLite's online backup
#      inside the stack's image, or pg_dump with the postgres profile), with retention;
#   5. up: the whole stack with the monitoring profile (Prometheus, the blackbox exporter),
#      restart policy unless-stopped, each service started once its dependencies are healthy;
#   6. host: a health-check cron entry every 5 minutes (restarts unhealthy containers, logs it),
#      daily log rotation keeping 7 days, checked with logrotate -d; Docker's own rotation;
#   7. checks: promtool on the Prometheus configuration and rules, GET /health on loopback.
# A second run with nothing changed changes nothing; --dry-run prints every step and does none.
# Run `scripts/deploy-executor-production.sh --help` for the options and variables.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SELF="$ROOT/scripts/$(basename "${BASH_SOURCE[0]}")"

SKIP_BACKUP=0
SKIP_HEALTH=0
DRY_RUN=0
HEAL=0
PREFIX="${EXECUTOR_PREFIX:-}"

usage() {
  cat <<'EOF'
Usage: scripts/deploy-executor-production.sh [--skip-backup] [--skip-health-check] [--dry-run]
                                             [--prefix DIR] [--heal] [--help]

Deploys Executor with Docker Compose on this host (docker-compose.yml and
docker-compose.executor.yml, with the monitoring profile), idempotently: builds the images,
backs up the event store before a change, brings the stack up, installs a health-check cron
entry (every 5 minutes) and daily log rotation (7 days), checks the Prometheus configuration
and the API's health. Running it again with nothing changed changes nothing.

Options:
  --skip-backup         do not back up the event store before a change
  --skip-health-check   do not check GET http://127.0.0.1:<port>/health at the end
  --dry-run             print every step that would change something, change nothing
  --prefix DIR          write the host's files under DIR (DIR/etc/cron.d, DIR/etc/logrotate.d,
                        DIR/var/log/executor, DIR/var/backups/executor): for a trial run
  --heal                the cron job's step only: restart the stack's unhealthy containers
                        and log what it found
  -h, --help            show this help and exit

Environment (also read from the env file, .env beside docker-compose.yml, where noted):
  COMPOSE_PROJECT_NAME       the stack's name (.env; default executor): its containers, volumes
  EXECUTOR_API_PORT          the API's loopback port (.env; default 8080)
  EXECUTOR_PROMETHEUS_PORT   Prometheus's loopback port (.env; default 9090)
  EXECUTOR_MONITORING=0      do not run the monitoring profile
  EXECUTOR_ENV_FILE          the env file (default .env beside docker-compose.yml)
  EXECUTOR_BUILD_CA_FILE     PEM file of an extra CA for npm in the image build (default: the
                             host's own, /usr/local/share/ca-certificates/*.crt, if any)
  EXECUTOR_BACKUP_DIR        where backups go (default /var/backups/executor)
  EXECUTOR_BACKUP_KEEP       backups to keep (default 10; 0 keeps all)
  EXECUTOR_LOG_DIR           the deploy and health-check logs (default /var/log/executor)
  EXECUTOR_HEALTH_RETRIES    tries of the final health check, 2 s apart (default 60)

Exit status: 0 deployed (or nothing to do), 1 a step failed, 2 bad usage, 3 a prerequisite
is missing.
EOF
}

while [ "$#" -gt 0 ]; do
  case "$1" in
    --skip-backup) SKIP_BACKUP=1 ;;
    --skip-health-check) SKIP_HEALTH=1 ;;
    --dry-run) DRY_RUN=1 ;;
    --heal) HEAL=1 ;;
    --prefix)
      [ "$#" -ge 2 ] || {
        echo 'error: --prefix needs a directory' >&2
        exit 2
      }
      PREFIX="$2"
      shift
      ;;
    --prefix=*) PREFIX="${1#--prefix=}" ;;
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
if [ -n "$PREFIX" ]; then
  mkdir -p "$PREFIX" 2>/dev/null || [ "$DRY_RUN" = 1 ] || {
    echo "error: cannot create the prefix $PREFIX" >&2
    exit 2
  }
  PREFIX="$(cd "$PREFIX" 2>/dev/null && pwd || printf '%s' "$PREFIX")"
fi

TAG="deploy"
[ "$HEAL" = 1 ] && TAG="heal"
log() { printf '%s [%s] %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$TAG" "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}
missing() {
  log "error: missing prerequisite: $*"
  exit 3
}

CHANGED=()
note_change() { CHANGED+=("$1"); }

# Runs a command that changes something, or prints it under --dry-run.
act() {
  if [ "$DRY_RUN" = 1 ]; then
    log "dry-run: would run: $*"
    return 0
  fi
  "$@"
}

ENV_FILE="${EXECUTOR_ENV_FILE:-$ROOT/.env}"
# A variable from the environment, else from the env file (the last assignment, quotes removed).
setting() {
  local name="$1" value="${!1:-}"
  if [ -z "$value" ] && [ -f "$ENV_FILE" ]; then
    value="$(sed -n "s/^[[:space:]]*${name}[[:space:]]*=[[:space:]]*//p" "$ENV_FILE" | tail -n 1)"
    value="${value%\"}" && value="${value#\"}" && value="${value%\'}" && value="${value#\'}"
  fi
  printf '%s' "$value"
}

PROJECT="$(setting COMPOSE_PROJECT_NAME)"
PROJECT="${PROJECT:-executor}"
API_PORT="$(setting EXECUTOR_API_PORT)"
API_PORT="${API_PORT:-8080}"
PROMETHEUS_PORT="$(setting EXECUTOR_PROMETHEUS_PORT)"
PROMETHEUS_PORT="${PROMETHEUS_PORT:-9090}"
MONITORING="$(setting EXECUTOR_MONITORING)"
MONITORING="${MONITORING:-1}"
PROMETHEUS_IMAGE="$(setting EXECUTOR_PROMETHEUS_IMAGE)"
PROMETHEUS_IMAGE="${PROMETHEUS_IMAGE:-executor/prometheus:local}"
CRON_DIR="$PREFIX/etc/cron.d"
LOGROTATE_DIR="$PREFIX/etc/logrotate.d"
LOG_DIR="${EXECUTOR_LOG_DIR:-$PREFIX/var/log/executor}"
BACKUP_DIR="${EXECUTOR_BACKUP_DIR:-$PREFIX/var/backups/executor}"
BACKUP_KEEP="${EXECUTOR_BACKUP_KEEP:-10}"
HEALTH_RETRIES="${EXECUTOR_HEALTH_RETRIES:-60}"
HEALTH_URL="http://127.0.0.1:${API_PORT}/health"
# The file names carry the project, so two stacks on one host keep their own.
CRON_FILE="$CRON_DIR/executor-$PROJECT"
LOGROTATE_FILE="$LOGROTATE_DIR/executor-$PROJECT"

# ------------------------------------------------------------------------------ preflight
command -v docker >/dev/null 2>&1 || missing "docker (apt-get install docker.io)"
docker info >/dev/null 2>&1 || missing "a running Docker engine (is dockerd running? are you root?)"
if command -v docker-compose >/dev/null 2>&1; then
  COMPOSE_BIN=(docker-compose)
elif docker compose version >/dev/null 2>&1; then
  COMPOSE_BIN=(docker compose)
else
  missing "docker-compose or the docker compose plugin (apt-get install docker-compose)"
fi
COMPOSE=("${COMPOSE_BIN[@]}" -p "$PROJECT" -f "$ROOT/docker-compose.yml" -f "$ROOT/docker-compose.executor.yml")
[ -f "$ENV_FILE" ] && COMPOSE+=(--env-file "$ENV_FILE")
COMPOSE_PROFILES="$(setting COMPOSE_PROFILES)"
[ "$MONITORING" = 1 ] && COMPOSE_PROFILES="${COMPOSE_PROFILES:+$COMPOSE_PROFILES,}monitoring"
export COMPOSE_PROFILES
# `compose ps`, `config` and the like leave nothing behind: safe under --dry-run.

# ------------------------------------------------------------------------------ heal mode
# The cron job: Docker restarts a container that exits, not one that hangs and fails its
# health check; this restarts those, and logs every run's findings in one line.
heal() {
  local ids id name health restarted=() unhealthy=0 total=0
  ids="$(docker ps -q --filter "label=com.docker.compose.project=$PROJECT")"
  if [ -z "$ids" ]; then
    log "no running container of the stack $PROJECT (stopped on purpose? deploy it again)"
    return 0
  fi
  for id in $ids; do
    total=$((total + 1))
    name="$(docker inspect -f '{{index .Config.Labels "com.docker.compose.service"}}' "$id")"
    health="$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$id")"
    if [ "$health" = unhealthy ]; then
      unhealthy=$((unhealthy + 1))
      log "$name is unhealthy: $(docker inspect -f '{{with .State.Health}}{{range .Log}}{{.Output}}{{end}}{{end}}' "$id" | tail -n 1 | cut -c1-200)"
      act docker restart "$id" >/dev/null
      restarted+=("$name")
    fi
  done
  if [ "$unhealthy" = 0 ]; then
    log "stack $PROJECT: $total containers running, none unhealthy"
  else
    log "stack $PROJECT: restarted ${restarted[*]} of $total running containers"
  fi
}

if [ "$HEAL" = 1 ]; then
  heal
  exit 0
fi

command -v flock >/dev/null 2>&1 || missing "flock (apt-get install util-linux)"
command -v logrotate >/dev/null 2>&1 || missing "logrotate (apt-get install logrotate)"
command -v curl >/dev/null 2>&1 || missing "curl, for the health check (apt-get install curl)"
if ! command -v cron >/dev/null 2>&1 && [ ! -x /usr/sbin/cron ]; then
  missing "cron, which runs the health check (apt-get install cron)"
fi
if [ -z "$PREFIX" ] && [ "$(id -u)" != 0 ]; then
  missing "root: the deploy writes /etc/cron.d and /etc/logrotate.d (or give --prefix DIR)"
fi
[ -f "$ROOT/docker-compose.executor.yml" ] || missing "$ROOT/docker-compose.executor.yml"

# One deploy of a stack at a time on this host.
LOCK="${TMPDIR:-/tmp}/executor-deploy-$PROJECT.lock"
exec 9>"$LOCK"
flock -n 9 || die "another deploy of $PROJECT is running (lock $LOCK)"

if [ -z "${EXECUTOR_BUILD_CA_CERTS:-}" ]; then
  ca_files=()
  if [ -n "${EXECUTOR_BUILD_CA_FILE:-}" ]; then
    [ -r "$EXECUTOR_BUILD_CA_FILE" ] || missing "EXECUTOR_BUILD_CA_FILE $EXECUTOR_BUILD_CA_FILE (not readable)"
    ca_files=("$EXECUTOR_BUILD_CA_FILE")
  else
    shopt -s nullglob
    ca_files=(/usr/local/share/ca-certificates/*.crt)
    shopt -u nullglob
  fi
  if [ "${#ca_files[@]}" -gt 0 ]; then
    EXECUTOR_BUILD_CA_CERTS="$(cat "${ca_files[@]}")"
    export EXECUTOR_BUILD_CA_CERTS
  fi
fi

"${COMPOSE[@]}" config -q || die "the compose files are not valid with this environment"
log "stack $PROJECT with ${COMPOSE_BIN[*]}; API on 127.0.0.1:$API_PORT$([ "$MONITORING" = 1 ] && echo ", Prometheus on 127.0.0.1:$PROMETHEUS_PORT")"
[ "$DRY_RUN" = 1 ] && log "dry-run: nothing will be changed"

# --------------------------------------------------------------------------------- images
image_ids() {
  local img
  for img in $("${COMPOSE[@]}" config | sed -n 's/^[[:space:]]*image:[[:space:]]*//p' | sort -u); do
    printf '%s=%s\n' "$img" "$(docker image inspect -f '{{.Id}}' "$img" 2>/dev/null || echo none)"
  done
}

before="$(image_ids)"
log "images: the base and template images (scripts/build-images.sh; unchanged ones are kept)"
act bash "$ROOT/scripts/build-images.sh"
log "images: the stack's images (compose build; unchanged layers are reused)"
build_log="$(mktemp)"
# One service per image: the apps share one (built through `keys`).
build_services=(keys nats)
[ "$MONITORING" = 1 ] && build_services+=(prometheus)
case ",${COMPOSE_PROFILES:-}," in *,postgres,*) build_services+=(postgres) ;; esac
if [ "$DRY_RUN" = 1 ]; then
  log "dry-run: would run: ${COMPOSE[*]} build ${build_services[*]}"
elif ! "${COMPOSE[@]}" build "${build_services[@]}" >"$build_log" 2>&1; then
  tail -n 40 "$build_log" >&2
  rm -f "$build_log"
  die "images: the build failed"
fi
rm -f "$build_log"
after="$(image_ids)"
if [ "$DRY_RUN" = 1 ]; then
  log "images: not built (dry run): the plan below is against the images there are"
elif [ "$before" != "$after" ]; then
  note_change "images"
  log "images: new: $(comm -13 <(echo "$before") <(echo "$after") | cut -d= -f1 | tr '\n' ' ')"
  # The app image it replaces stays as <name>:previous, for a rollback (docs/deployment.md).
  app_image="$(setting EXECUTOR_APP_IMAGE)"
  app_image="${app_image:-executor/app:latest}"
  old_id="$(sed -n "s|^${app_image}=||p" <<<"$before")"
  new_id="$(sed -n "s|^${app_image}=||p" <<<"$after")"
  if [ -n "$old_id" ] && [ "$old_id" != none ] && [ "$old_id" != "$new_id" ]; then
    act docker tag "$old_id" "${app_image%:*}:previous"
    log "images: the app image before this deploy is ${app_image%:*}:previous"
  fi
else
  log "images: unchanged"
fi

# ------------------------------------------------------------------------------------ plan
# A service needs (re)creating when it has no running container, or when its container's
# configuration hash or image differs from what the compose files and the images say now.
# `config --hash` lists the services of the active profiles only (`config --services` all).
hashes="$("${COMPOSE[@]}" config --hash='*')" || die "plan: compose config --hash failed"
services="$(awk '{print $1}' <<<"$hashes")"
declare -A want_hash=()
while read -r svc hash; do
  [ -n "$svc" ] && want_hash["$svc"]="$hash"
done <<<"$hashes"
plan=()
existing=0
for svc in $services; do
  cid="$(docker ps -aq --filter "label=com.docker.compose.project=$PROJECT" \
    --filter "label=com.docker.compose.service=$svc" --filter "label=com.docker.compose.oneoff=False" | head -n 1)"
  if [ -z "$cid" ]; then
    plan+=("$svc(new)")
    continue
  fi
  existing=1
  read -r state have_hash have_image image_name < <(docker inspect -f \
    '{{.State.Status}} {{index .Config.Labels "com.docker.compose.config-hash"}} {{.Image}} {{.Config.Image}}' "$cid")
  want_image="$(docker image inspect -f '{{.Id}}' "$image_name" 2>/dev/null || echo none)"
  if [ "$svc" = keys ]; then
    # The one-shot: done once it exited 0 with today's configuration.
    code="$(docker inspect -f '{{.State.ExitCode}}' "$cid")"
    [ "$state" = exited ] && [ "$code" = 0 ] && [ "$have_hash" = "${want_hash[$svc]:-}" ] && continue
  elif [ "$state" = running ] && [ "$have_hash" = "${want_hash[$svc]:-}" ] && [ "$have_image" = "$want_image" ]; then
    continue
  fi
  plan+=("$svc($state)")
done
if [ "${#plan[@]}" -eq 0 ]; then
  log "plan: every service runs with its current image and configuration: nothing to restart"
else
  log "plan: ${plan[*]}"
fi

# --------------------------------------------------------------------------------- backup
backup_retention() {
  [ "$BACKUP_KEEP" -gt 0 ] 2>/dev/null || return 0
  local old
  while IFS= read -r old; do
    log "backup: removing old backup $old (keeping $BACKUP_KEEP)"
    act rm -f "$old"
  done < <(find "$BACKUP_DIR" -maxdepth 1 -type f \( -name 'events-*.sqlite' -o -name 'events-*.pgdump' \) 2>/dev/null |
    LC_ALL=C sort -r | tail -n "+$((BACKUP_KEEP + 1))")
}

backup_event_store() {
  local stamp dest
  stamp="$(date -u +%Y%m%dT%H%M%SZ)"
  if [ -n "$(setting EVENT_STORE_URL)" ]; then
    # PostgreSQL: pg_dump of the postgres profile's server (custom format, for pg_restore).
    dest="$BACKUP_DIR/events-$stamp.pgdump"
    if [ -z "$("${COMPOSE[@]}" ps -q postgres 2>/dev/null)" ]; then
      log "backup: EVENT_STORE_URL is set but the postgres service does not run here: back up that server with pg_dump yourself, or pass --skip-backup"
      die "backup: no pg_dump possible"
    fi
    log "backup: pg_dump of the executor database -> $dest"
    [ "$DRY_RUN" = 1 ] && return 0
    mkdir -p "$BACKUP_DIR" && chmod 700 "$BACKUP_DIR"
    "${COMPOSE[@]}" exec -T postgres pg_dump -h /var/run/postgresql -U executor -Fc executor >"$dest" ||
      {
        rm -f "$dest"
        die "backup: pg_dump failed; nothing was changed"
      }
  else
    # SQLite: the online backup API, inside the stack's own image on the data volume (the
    # services keep writing meanwhile; the copy is consistent and checked). No node on the host.
    dest="$BACKUP_DIR/events-$stamp.sqlite"
    log "backup: online SQLite backup of /data/events.sqlite -> $dest"
    [ "$DRY_RUN" = 1 ] && return 0
    mkdir -p "$BACKUP_DIR" && chmod 700 "$BACKUP_DIR"
    local work
    work="$(mktemp -d "$BACKUP_DIR/.work.XXXXXX")"
    chown 10100 "$work"
    if ! "${COMPOSE[@]}" run --rm --no-deps -T -v "$work:/backup" session-service \
      node dist/scripts/store-backup.js "/backup/events.sqlite" >"$work/report.json"; then
      cat "$work/report.json" >&2 || true
      rm -rf "$work"
      die "backup: failed; nothing was changed"
    fi
    mv "$work/events.sqlite" "$dest"
    log "backup: ok: $(tr -d '\n ' <"$work/report.json" | cut -c1-300)"
    rm -rf "$work"
  fi
  chown root:root "$dest" 2>/dev/null || true
  chmod 600 "$dest"
}

if [ "${#plan[@]}" -eq 0 ]; then
  log "backup: nothing is about to change: no backup needed"
elif [ "$SKIP_BACKUP" = 1 ]; then
  log "backup: skipped (--skip-backup)"
elif [ "$existing" = 0 ] || ! docker volume inspect "${PROJECT}_executor-data" >/dev/null 2>&1; then
  log "backup: the stack has no event store yet (first deploy): nothing to back up"
else
  backup_event_store
  note_change "backup"
  backup_retention
fi

# ------------------------------------------------------------------------------------- up
if [ "${#plan[@]}" -gt 0 ]; then
  log "up: the stack (compose up -d; each service once its dependencies are healthy)"
  act "${COMPOSE[@]}" up -d --remove-orphans || {
    "${COMPOSE[@]}" ps >&2 || true
    die "up: the stack did not come up healthy (compose ps above; compose logs <service> tells why)"
  }
  note_change "services"
fi

# --------------------------------------------------------------------------- host files
# Writes a file only when its content differs; says which.
install_file() {
  local path="$1" mode="$2" content="$3"
  if [ -f "$path" ] && [ "$(cat "$path")" = "$content" ] && [ "$(stat -c %a "$path")" = "$mode" ]; then
    log "host: $path unchanged"
    return 0
  fi
  if [ "$DRY_RUN" = 1 ]; then
    log "dry-run: would write $path (mode $mode):"
    printf '%s\n' "$content" | sed 's/^/    /' >&2
    return 0
  fi
  mkdir -p "$(dirname "$path")"
  local tmp
  tmp="$(mktemp "$(dirname "$path")/.executor.XXXXXX")"
  printf '%s\n' "$content" >"$tmp"
  chmod "$mode" "$tmp"
  mv -f "$tmp" "$path"
  log "host: wrote $path"
  note_change "$path"
}

heal_cmd="$SELF --heal"
[ -n "$PREFIX" ] && heal_cmd+=" --prefix $PREFIX"
env_prefix="COMPOSE_PROJECT_NAME=$PROJECT"
[ -n "${EXECUTOR_ENV_FILE:-}" ] && env_prefix+=" EXECUTOR_ENV_FILE=$ENV_FILE"
install_file "$CRON_FILE" 644 "# Executor ($PROJECT): health check every 5 minutes; restarts unhealthy containers.
# Written by $SELF; a new deploy rewrites it.
SHELL=/bin/bash
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
*/5 * * * * root $env_prefix $heal_cmd >>$LOG_DIR/healthcheck.log 2>&1"

# Docker rotates the containers' logs (json-file, 7 files of 10 MB: docker-compose.yml);
# logrotate does what Docker does not: the health-check and deploy logs here.
install_file "$LOGROTATE_FILE" 644 "# Executor ($PROJECT): its own logs, daily, 7 days kept. Written by $SELF.
$LOG_DIR/*.log {
    daily
    rotate 7
    maxage 7
    missingok
    notifempty
    compress
    delaycompress
    copytruncate
    su root root
}"

if [ ! -d "$LOG_DIR" ]; then
  act mkdir -p "$LOG_DIR"
  act chmod 750 "$LOG_DIR"
  [ "$DRY_RUN" = 1 ] || note_change "$LOG_DIR"
fi
if [ "$DRY_RUN" = 1 ] && [ ! -f "$LOGROTATE_FILE" ]; then
  log "dry-run: would check $LOGROTATE_FILE with logrotate -d"
else
  lr_out="$(logrotate -d -s "$(mktemp -u)" "$LOGROTATE_FILE" 2>&1)" ||
    die "host: logrotate -d rejects $LOGROTATE_FILE: $lr_out"
  grep -qiE '^error' <<<"$lr_out" && die "host: logrotate -d reports errors: $(grep -iE '^error' <<<"$lr_out" | head -n 3)"
  log "host: logrotate -d accepts $LOGROTATE_FILE (daily, 7 kept)"
fi
if [ -z "$PREFIX" ] && ! pgrep -x cron >/dev/null 2>&1; then
  log "host: the cron daemon is not running: start it (systemctl enable --now cron) or the health check never runs"
fi

# ---------------------------------------------------------------------------- monitoring
if [ "$MONITORING" = 1 ]; then
  if docker image inspect "$PROMETHEUS_IMAGE" >/dev/null 2>&1; then
    keyfile="$(mktemp)"
    promtool=(docker run --rm --network none --entrypoint promtool
      -v "$ROOT/config/prometheus:/etc/prometheus:ro" -v "$keyfile:/prometheus-key/prometheus.key:ro" "$PROMETHEUS_IMAGE")
    out="$("${promtool[@]}" check config /etc/prometheus/prometheus.yml 2>&1)" || {
      rm -f "$keyfile"
      die "monitoring: promtool check config fails: $out"
    }
    rm -f "$keyfile"
    log "monitoring: promtool check config and rules: ok ($(grep -o '[0-9]* rules found' <<<"$out" | head -n 1))"
    out="$("${promtool[@]}" test rules /etc/prometheus/alerts.test.yml 2>&1)" ||
      die "monitoring: promtool test rules fails (config/prometheus/alerts.test.yml): $out"
    log "monitoring: promtool test rules: the alert rules' unit tests pass"
  else
    log "dry-run: would check config/prometheus with promtool once $PROMETHEUS_IMAGE is built"
  fi
else
  log "monitoring: off (EXECUTOR_MONITORING=0)"
fi

# ------------------------------------------------------------------------ restart policy
policies=""
for cid in $(docker ps -q --filter "label=com.docker.compose.project=$PROJECT"); do
  policies+="$(docker inspect -f '{{index .Config.Labels "com.docker.compose.service"}}={{.HostConfig.RestartPolicy.Name}} ' "$cid")"
done
if [ -n "$policies" ]; then
  bad="$(tr ' ' '\n' <<<"$policies" | grep -v '=unless-stopped$' | grep -v '^$' || true)"
  [ -z "$bad" ] || die "restart: containers without unless-stopped: $bad"
  log "restart: every running container restarts unless stopped (Docker), unhealthy ones by the cron entry"
  api_cid="$("${COMPOSE[@]}" ps -q api 2>/dev/null | head -n 1)"
  [ -n "$api_cid" ] && log "logs: Docker rotates the containers' logs: $(docker inspect -f '{{.HostConfig.LogConfig.Type}} {{range $k, $v := .HostConfig.LogConfig.Config}}{{$k}}={{$v}} {{end}}' "$api_cid")"
fi
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ] && ! systemctl is-enabled -q docker 2>/dev/null; then
  log "restart: the Docker service is not enabled at boot: systemctl enable docker"
fi

# ---------------------------------------------------------------------------- final check
if [ "$SKIP_HEALTH" = 1 ]; then
  log "health: skipped (--skip-health-check)"
elif [ "$DRY_RUN" = 1 ] && [ "${#plan[@]}" -gt 0 ]; then
  log "dry-run: would check $HEALTH_URL"
else
  answer=""
  for i in $(seq 1 "$HEALTH_RETRIES"); do
    answer="$(curl -sS --max-time 10 -w ' %{http_code}' "$HEALTH_URL" 2>/dev/null || true)"
    if [ "${answer##* }" = 200 ]; then
      log "health: $HEALTH_URL answers 200"
      break
    fi
    [ "$i" -lt "$HEALTH_RETRIES" ] || die "health: $HEALTH_URL did not answer 200 after $HEALTH_RETRIES tries; last: ${answer:-no answer}"
    sleep 2
  done
fi

if [ "$DRY_RUN" = 1 ]; then
  log "dry-run: done, nothing changed"
elif [ "${#CHANGED[@]}" -eq 0 ]; then
  log "done: nothing changed"
else
  log "done: changed ${CHANGED[*]}"
fi
