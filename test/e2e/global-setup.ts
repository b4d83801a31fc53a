import Docker from 'dockerode';
import { Stack } from '../../scripts/lib/stack';

/** Whether the test process that named a runner `e2e-<pid>-<n>` is still running. */
function ownerAlive(runnerId: string): boolean {
  const pid = Number(/^e2e-(\d+)-/.exec(runnerId)?.[1]);
  if (!pid || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Containers of e2e runners from runs that were killed: their runners will never sweep them.
 * A run still going on (another checkout's suite on the same engine) keeps its containers.
 */
async function removeContainersOfEarlierRuns(): Promise<void> {
  const docker = new Docker();
  const all = await docker.listContainers({ all: true, filters: { label: ['executor.managed=true'] } });
  const stale = all.filter((c) => {
    const runner = c.Labels['executor.runner'];
    return runner?.startsWith('e2e-') && !ownerAlive(runner);
  });
  await Promise.all(
    stale.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined),
    ),
  );
}

declare global {
  var __EXECUTOR_STACK__: Stack | undefined;
}

/** Starts one real stack for the whole e2e run; tests find it through E2E_* variables. */
export default async function globalSetup(): Promise<void> {
  await removeContainersOfEarlierRuns();
  // Small limits and a quick sweeper so limits and expiry can be tested in seconds.
  const stack = await Stack.create({
    MAX_SESSIONS_PER_TENANT: '5',
    SESSION_SWEEP_INTERVAL_MS: '300',
    IMAGE_WAIT_S: '2',
  });
  globalThis.__EXECUTOR_STACK__ = stack;
  try {
    await stack.start();
  } catch (err) {
    await stack.stop();
    throw err;
  }
  process.env.E2E_STACK = JSON.stringify(stack.info);
}
