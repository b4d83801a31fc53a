#!/usr/bin/env bash
# `npm test`: installs and starts what the tests need (Docker, NATS, images, npm packages),
# runs the static checks, builds, then the unit and end-to-end suites against real
# nats-server, Docker and SQLite. The e2e suite starts its own NATS and apps on free ports.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# The suite starts its own nats-server; setup only needs the binary.
EXECUTOR_SKIP_NATS=1 bash scripts/setup.sh
echo "== format, lint, typecheck"
npx prettier --check . >/dev/null || { npx prettier --check . | tail -20; exit 1; }
npx eslint . --max-warnings 0
npx tsc --noEmit -p tsconfig.json
echo "== build"
npm run --silent build
echo "== unit tests"
npx jest --selectProjects unit --ci
echo "== end-to-end tests"
npx jest --selectProjects e2e --ci --runInBand
