import { connect, ErrorCode, JSONCodec } from 'nats';
import { runnerOwnSubject, Subjects } from '@executor/contracts';
import { ConfigError, natsConnectionOptions } from '@executor/common';
import type { RunnerConfig } from './runner.config';

const ASK_TIMEOUT_MS = 2000;

/**
 * Refuses to start a runner whose RUNNER_ID a live runner already uses: it asks on that id's own
 * subject first. NATS answers "no responders" at once when nothing listens there (also right
 * after the previous process with this id died: the server drops a closed connection's
 * subscriptions). Two runners with one id would share their own subjects, each would take the
 * other's containers for orphans and remove them, and each start would make the
 * session-service take the other's sessions for lost.
 */
export async function assertRunnerIdFree(config: RunnerConfig): Promise<void> {
  const nc = await connect(natsConnectionOptions(config.NATS_URL, 'runner-id-check'));
  const subject = runnerOwnSubject(config.RUNNER_ID, Subjects.RunnerSessionList);
  try {
    await nc.request(
      subject,
      JSONCodec().encode({ pattern: Subjects.RunnerSessionList, data: {}, id: 'runner-id-check' }),
      { timeout: ASK_TIMEOUT_MS },
    );
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === ErrorCode.NoResponders) return;
    if (code === ErrorCode.Timeout) {
      throw new ConfigError(
        `RUNNER_ID ${config.RUNNER_ID} may be in use: something listens on ${subject} but did not answer within ${ASK_TIMEOUT_MS} ms. Every runner on one NATS needs its own RUNNER_ID.`,
      );
    }
    throw err;
  } finally {
    await nc.close();
  }
  throw new ConfigError(
    `RUNNER_ID ${config.RUNNER_ID} is in use: a live runner with this id answered on ${subject}. Every runner on one NATS needs its own RUNNER_ID.`,
  );
}
