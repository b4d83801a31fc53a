#!/usr/bin/env bash
# `npm test`: installs and starts what the tests need (Docker, NATS, images, npm packages),
# runs the static checks, builds, then the unit and end-to-end suites against real
# nats-server, Docker, SQLite and PostgreSQL. The e2e suite starts its own NATS and apps on free
# ports; the PostgreSQL tests make a throw-away database each in the cluster setup starts.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# The suite starts its own nats-server; setup only needs the binary.
EXECUTOR_SKIP_NATS=1 bash scripts/setup.sh
if [ "${EXECUTOR_SKIP_POSTGRES:-0}" != "1" ]; then
  # The role setup creates; a missing server then fails the PostgreSQL tests instead of skipping them.
  export EXECUTOR_TEST_POSTGRES_URL="${EXECUTOR_TEST_POSTGRES_URL:-postgres://executor:executor@127.0.0.1:${EXECUTOR_PG_PORT:-55432}/executor}"
  export EXECUTOR_REQUIRE_POSTGRES=1
fi
echo "== format, lint, typecheck"
npx prettier --check . >/dev/null || { npx prettier --check . | tail -20; exit 1; }
npx eslint . --max-warnings 0
npx tsc --noEmit -p tsconfig.json
npx tsc --noEmit -p apps/console/tsconfig.json
echo "== build"
npm run --silent build
echo "== unit tests"
npx jest --selectProjects unit --ci
echo "== end-to-end tests"
npx jest --selectProjects e2e --ci --runInBand
