#!/usr/bin/env bash
# `npm start`: installs and starts what is missing (Docker, NATS, images, npm packages),
# builds, then runs the five apps under a supervisor. API on http://127.0.0.1:8080.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
npm run --silent build
exec node scripts/run-stack.js
