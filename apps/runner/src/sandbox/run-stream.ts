import type { NatsConnection, Subscription } from 'nats';
import { streamCancelSubject, streamSubject, type StreamFrame } from '@executor/contracts';

/**
 * The live side of a streaming run: frames go out on the run's subject as they happen, and
 * a cancel (the HTTP client went away) stops the run. Publishing is fire-and-forget: the
 * reply still carries the whole result.
 */
export class RunStream {
  private readonly cancel: Subscription;

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
    } catch {
      // The result is still returned whole; a lost frame only delays what the client sees.
    }
  };

  close(): void {
    this.cancel.unsubscribe();
  }
}
