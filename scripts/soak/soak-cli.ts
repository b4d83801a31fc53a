/**
 * The soak test, longer than CI's: `npm run soak -- --seconds 1800 [--clients 8] [--chaos 20]`.
 * Starts its own stack on free loopback ports, runs the load with chaos, prints the report and
 * writes it to bench-results/soak-<date>.json. Exits 1 when anything was lost.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, Stack } from '../lib/stack';
import { readArgs, UsageError } from '../lib/cli-args';
import { runSoak, SOAK_ENV } from './soak';

async function main(): Promise<void> {
  const { values: args } = readArgs(process.argv.slice(2), {
    seconds: 'integer',
    clients: 'integer',
    chaos: 'integer',
  });
  if (args.seconds === 0 || args.clients === 0) throw new Error('--seconds and --clients must be at least 1');
  const stack = await Stack.create(SOAK_ENV);
  try {
    // Inside the try: a stack that never became healthy is stopped too, not left running.
    await stack.start();
    const report = await runSoak(stack, {
      seconds: args.seconds ?? 300,
      clients: args.clients ?? 8,
      chaosEverySeconds: args.chaos ?? 20,
      log: (line) => console.error(line),
    });
    console.log(JSON.stringify(report, null, 2));
    mkdirSync(join(ROOT, 'bench-results'), { recursive: true });
    const file = join(ROOT, 'bench-results', `soak-${new Date().toISOString().slice(0, 10)}.json`);
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    console.error(`written to ${file}`);
    const ok =
      report.requests.lost === 0 &&
      report.containers_leaked === 0 &&
      report.sessions_stuck === 0 &&
      report.integrity.ok &&
      report.metrics_match_recount;
    process.exitCode = ok ? 0 : 1;
  } finally {
    await stack.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof UsageError ? err.message : err);
  process.exit(2);
});
