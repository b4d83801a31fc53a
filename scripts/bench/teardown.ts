/**
 * `npm run bench:teardown`: what stopping a runner that holds many idle sessions costs. Starts a
 * stack of its own on loopback, opens `--sessions` idle `default` sessions (four creates at a
 * time), lets the host settle for `--settle` seconds, then sends the runner SIGTERM and prints how
 * long it took to exit, the containers it left behind, and the highest one-minute load average
 * seen from the signal until 5 s after the exit.
 *
 *   npm run bench:teardown -- --sessions 300
 *
 * Traffic goes to loopback only.
 */
import Docker from 'dockerode';
import { loadavg } from 'node:os';
import { readArgs } from '../lib/cli-args';
import { Stack } from '../lib/stack';
import { agent, benchEnv, eachAtMost, post, retryRefused, sleep } from './bench-client';

async function main(): Promise<void> {
  const { values } = readArgs(process.argv.slice(2), { sessions: 'integer', settle: 'integer' });
  const sessions = values.sessions ?? 300;
  const settleS = values.settle ?? 40;
  const stack = await Stack.create({ ...benchEnv({ sessions }), POOL_SIZES: 'default=0' });
  const docker = new Docker();
  const ours = { all: true, filters: { label: [`executor.runner=${stack.info.runnerId}`] } };
  try {
    await stack.start();
    await eachAtMost(sessions, 4, (i) =>
      retryRefused(() =>
        post(stack.info.apiUrl, '/session/create', { tenant_id: 'teardown', scope: `s${i}` }),
      ),
    );
    const held = (await docker.listContainers(ours)).length;
    await sleep(settleS * 1000);
    const loadBefore = loadavg()[0];
    let peak = loadBefore;
    const sampler = setInterval(() => (peak = Math.max(peak, loadavg()[0])), 1000);
    const t0 = Date.now();
    await stack.stopProcess('runner', 'SIGTERM', 600000);
    const exitMs = Date.now() - t0;
    const left = (await docker.listContainers(ours)).length;
    await sleep(5000);
    clearInterval(sampler);
    console.log(
      JSON.stringify({
        sessions: held,
        exit_ms: exitMs,
        containers_left: left,
        load_before: loadBefore,
        load_peak: peak,
      }),
    );
  } finally {
    for (const c of await docker.listContainers(ours)) {
      await docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined);
    }
    await stack.stop();
    agent.destroy();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
