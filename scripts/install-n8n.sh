#!/usr/bin/env bash
# Installs the n8n CLI that test/e2e/n8n.e2e-spec.ts runs the example workflow with, into a
# cache folder outside the project (n8n brings ~2 GB of its own dependencies). Idempotent: quick
# when the pinned version is there. scripts/setup.sh starts it in the background; the spec waits
# for an install in progress and skips, with a warning, only when n8n could not be installed.
#
# n8n 2.8.4 is the newest 2.x that runs on Node 20 (later ones want Node 22 or 24). Its xlsx
# dependency points at a CDN that cannot be reached, hence the override to the registry's 0.18.5.
set -euo pipefail
N8N_VERSION="${EXECUTOR_N8N_VERSION:-2.8.4}"
DIR="${EXECUTOR_N8N_DIR:-/var/cache/executor/n8n}"
mkdir -p "$DIR"
LOG="$DIR/install.log"

# Written only after npm finished: a half-done install (killed, out of disk) is not taken for one.
DONE="$DIR/installed-$N8N_VERSION"
installed() {
  [ -f "$DONE" ] && node -e 'process.exit(require(process.argv[1]).version === process.argv[2] ? 0 : 1)' \
    "$DIR/node_modules/n8n/package.json" "$N8N_VERSION" 2>/dev/null
}

installed && exit 0
# One install at a time: a second caller waits for the first, then finds it done.
exec 9>"$DIR/install.lock"
flock 9
installed && exit 0

cat >"$DIR/package.json" <<EOF
{
  "name": "executor-n8n-cache",
  "private": true,
  "description": "The n8n CLI for Executor's n8n e2e test (scripts/install-n8n.sh)",
  "dependencies": { "n8n": "$N8N_VERSION" },
  "overrides": { "xlsx": "0.18.5" }
}
EOF
start=$(date +%s)
echo "[install-n8n] installing n8n@$N8N_VERSION into $DIR" >"$LOG"
rm -f "$DIR"/installed-*
if (cd "$DIR" && npm install --no-audit --no-fund --loglevel=error >>"$LOG" 2>&1); then
  touch "$DONE"
  echo "[install-n8n] done in $(($(date +%s) - start)) s" >>"$LOG"
else
  echo "[install-n8n] failed after $(($(date +%s) - start)) s" >>"$LOG"
  exit 1
fi
