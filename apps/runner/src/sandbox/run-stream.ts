import type { NatsConnection, Subscription } from 'nats';
import { streamCancelSubject, streamSubject, type StreamFrame } from '@executor/contracts';
import { withinMs } from '@executor/common';
import type { KernelLink, KernelOutcome, KernelRequest, TimeoutPolicy } from './sandbox';

/** How long the end of a streamed run waits for the server to have its frames. */
const FLUSH_WAIT_MS = 1000;

/**
 * The live side of a streaming run: frames go out on the run's subject as they happen, and
 * a cancel (the HTTP client went away) stops the run. Publishing is fire-and-forget: the
 * reply still carries the whole result.
 */
export class RunStream {
  private readonly cancel: Subscription;
  private sent = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly streamId: string,
    onCancel: () => void,
  ) {
    this.cancel = nc.subscribe(streamCancelSubject(streamId), { max: 1, callback: () => onCancel() });
  }

  send = (frame: StreamFrame): void => {
    try {
      this.nc.publish(streamSubject(this.streamId), JSON.stringify(frame));
      this.sent = true;
    } catch {
      // The result is still returned whole; a lost frame only delays what the client sees.
    }
  };

  /**
   * Ends the stream once the server has every frame sent (a flush, at most FLUSH_WAIT_MS): the
   * reply goes out after it, by another path, and the api writes `done` when the reply comes,
   * so a last line still on its way to the server would otherwise come after `done` or never.
   */
  async close(): Promise<void> {
    this.cancel.unsubscribe();
    if (this.sent) await withinMs(this.nc.flush(), FLUSH_WAIT_MS);
  }
}

/**
 * Runs a request in a sandbox; with a `streamId` its output also goes out as it happens, and a
 * cancel stops the run as `policy` stops one past its timeout: `kill` throws the sandbox away
 * (one-off runs), `interrupt` stops the code and keeps the kernel (sessions).
 */
export async function executeStreamed(
  nc: NatsConnection,
  sandbox: KernelLink,
  request: KernelRequest,
  timeoutMs: number,
  policy: TimeoutPolicy,
  streamId?: string,
): Promise<KernelOutcome> {
  const stop = () => void (policy === 'kill' ? sandbox.kill() : sandbox.interrupt());
  const stream = streamId ? new RunStream(nc, streamId, stop) : undefined;
  try {
    return await sandbox.execute(request, timeoutMs, policy, stream?.send);
  } finally {
    await stream?.close();
  }
}
