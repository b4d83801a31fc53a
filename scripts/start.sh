#!/usr/bin/env bash
# `npm start`: installs and starts what is missing (Docker, NATS, images, npm packages),
# builds, then runs nats-server and the five apps under a supervisor (scripts/run-stack.js)
# that restarts any of them that dies. API on http://127.0.0.1:8080.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# PostgreSQL only when the event store is configured to live there.
if [ -z "${EVENT_STORE_URL:-}" ]; then export EXECUTOR_SKIP_POSTGRES="${EXECUTOR_SKIP_POSTGRES:-1}"; fi
EXECUTOR_SKIP_NATS=1 bash scripts/setup.sh
npm run --silent build
exec node scripts/run-stack.js
