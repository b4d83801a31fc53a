#!/usr/bin/env bash
# Builds the base image and the template images locally, never from a registry
# unless asked. The base is pulled only when EXECUTOR_BASE_PULL names an image
# (where a registry is reachable); otherwise it is bootstrapped with debootstrap.
# A template image is rebuilt only when the content hash of its folder changes.
#   scripts/build-images.sh            # templates in EXECUTOR_TEMPLATES (default: all but the heavy python-ml and python-nlp)
#   scripts/build-images.sh default    # the named templates
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BASE_IMAGE="${EXECUTOR_BASE_IMAGE:-executor/base:bookworm}"
MIRROR="${EXECUTOR_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
log() { printf '[images] %s\n' "$*" >&2; }

build_base() {
  if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then return 0; fi
  if [ -n "${EXECUTOR_BASE_PULL:-}" ] && timeout 120 docker pull "$EXECUTOR_BASE_PULL" >/dev/null 2>&1; then
    docker tag "$EXECUTOR_BASE_PULL" "$BASE_IMAGE"
    log "base image $BASE_IMAGE pulled from $EXECUTOR_BASE_PULL"
    return 0
  fi
  log "bootstrapping $BASE_IMAGE with debootstrap (about a minute)"
  local dir
  dir="$(mktemp -d /tmp/executor-base.XXXXXX)"
  trap 'rm -rf "$dir"' RETURN
  debootstrap --variant=minbase bookworm "$dir" "$MIRROR" >/tmp/executor-debootstrap.log 2>&1 || {
    tail -n 30 /tmp/executor-debootstrap.log >&2
    exit 1
  }
  # Same sources as the host mirror; no caches or logs in the image.
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* "$dir"/var/log/*
  tar -C "$dir" -c . | docker import \
    --change 'ENV LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["/bin/bash"]' - "$BASE_IMAGE" >/dev/null
  log "base image $BASE_IMAGE ready"
}

template_hash() {
  # Content hash of everything in the template folder plus the base image id.
  local dir="$1"
  {
    docker image inspect -f '{{.Id}}' "$BASE_IMAGE"
    (cd "$dir" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
  } | sha256sum | cut -c1-16
}

build_template() {
  local name="$1" dir="$ROOT/templates/$1"
  [ -f "$dir/Dockerfile" ] || { log "template $name has no Dockerfile"; exit 1; }
  local image="executor/$name" hash current
  hash="$(template_hash "$dir")"
  current="$(docker image inspect -f '{{ index .Config.Labels "executor.template.hash" }}' "$image:latest" 2>/dev/null || true)"
  if [ "$current" = "$hash" ]; then return 0; fi
  log "building template image $image ($hash)"
  docker build -q --build-arg "BASE_IMAGE=$BASE_IMAGE" --label "executor.template.hash=$hash" \
    --label "executor.template=$name" -t "$image:$hash" -t "$image:latest" "$dir" >/dev/null
  log "template image $image:latest ready"
}

build_base
if [ "$#" -gt 0 ]; then templates=("$@"); else read -r -a templates <<<"${EXECUTOR_TEMPLATES:-default minimal python-data node-basic python-web code-interpreter}"; fi
for t in "${templates[@]}"; do build_template "$t"; done
