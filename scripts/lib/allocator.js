// The allocator the apps run on, for both launchers: scripts/run-stack.js (plain JS, run
// without a build) and the e2e Stack (scripts/lib/stack.ts). The apps run on jemalloc where
// Debian's libjemalloc2 is installed: glibc's malloc keeps what a burst of large sandbox output
// fragmented (tens of MiB in the runner, never given back); jemalloc returns it within seconds.
// EXECUTOR_ALLOCATOR=glibc turns it off; an LD_PRELOAD already set is left alone.
'use strict';
const { existsSync } = require('node:fs');

const JEMALLOC = [
  '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2',
  '/usr/lib/aarch64-linux-gnu/libjemalloc.so.2',
];

/** The variables to add to an app's environment: `{LD_PRELOAD}` or nothing. */
function allocatorEnv(env = process.env) {
  const lib = JEMALLOC.find((p) => existsSync(p));
  if (!lib || env.EXECUTOR_ALLOCATOR === 'glibc' || env.LD_PRELOAD) return {};
  return { LD_PRELOAD: lib };
}

module.exports = { allocatorEnv };
