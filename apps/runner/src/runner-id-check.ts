import { connect } from 'nats';
import { Subjects, type RunnerHeartbeat } from '@executor/contracts';
import { ConfigError, natsConnectionOptions } from '@executor/common';
import type { RunnerConfig } from './runner.config';

/**
 * Refuses to start a runner whose RUNNER_ID a live runner already uses: it listens to the
 * heartbeats for one and a half intervals first. Two runners with one id would share their own
 * subjects, each would take the other's containers for orphans and remove them, and each
 * start would make the session-service take the other's sessions for lost.
 */
export async function assertRunnerIdFree(config: RunnerConfig): Promise<void> {
  const nc = await connect(natsConnectionOptions(config.NATS_URL, 'runner-id-check'));
  try {
    const sub = nc.subscribe(Subjects.RunnerHeartbeat);
    const timer = setTimeout(() => sub.unsubscribe(), Math.round(config.HEARTBEAT_INTERVAL_MS * 1.5));
    for await (const msg of sub) {
      let hb: Partial<RunnerHeartbeat>;
      try {
        hb = JSON.parse(new TextDecoder().decode(msg.data)) as Partial<RunnerHeartbeat>;
      } catch {
        continue;
      }
      if (hb.runner_id !== config.RUNNER_ID) continue;
      clearTimeout(timer);
      throw new ConfigError(
        `RUNNER_ID ${config.RUNNER_ID} is in use: a live runner with this id sent a heartbeat just now. Every runner on one NATS needs its own RUNNER_ID.`,
      );
    }
  } finally {
    await nc.close();
  }
}
