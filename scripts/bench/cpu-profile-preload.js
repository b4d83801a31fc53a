'use strict';
/**
 * Loaded with `node --require` (NODE_OPTIONS, which may not carry --cpu-prof): a V8 CPU profile
 * of the whole process, written to $EXECUTOR_CPU_PROF_DIR/<app>-<pid>.cpuprofile when it stops
 * (start-up included: leave out the samples under node:internal/modules when reading it).
 * `npm run bench:oneoff -- --cpu-prof <dir>` loads it into every app of its stack.
 */
const { Session } = require('node:inspector');
const { writeFileSync } = require('node:fs');
const { basename, dirname, join } = require('node:path');

const dir = process.env.EXECUTOR_CPU_PROF_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 1000 });
  session.post('Profiler.start');
  const name = basename(dirname(dirname(process.argv[1] ?? 'node')));
  let written = false;
  // The in-thread inspector answers synchronously, so this works in exit and signal handlers.
  const write = () => {
    if (written) return;
    written = true;
    session.post('Profiler.stop', (err, res) => {
      if (!err) writeFileSync(join(dir, `${name}-${process.pid}.cpuprofile`), JSON.stringify(res.profile));
    });
  };
  process.on('exit', write);
  // Nest's shutdown hooks re-raise SIGTERM after closing the app, so the process ends by the
  // signal and 'exit' never fires: write on the signal, then leave the signal to Nest's handler.
  const onTerm = () => {
    process.removeListener('SIGTERM', onTerm);
    write();
  };
  process.on('SIGTERM', onTerm);
}
