import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { ErrorCode as NatsErrorCode, Events, headers, JSONCodec, type NatsConnection } from 'nats';
import {
  ErrorCodes,
  isErrorPayload,
  type RpcReply,
  type RpcRequest,
  type RpcSubject,
} from '@executor/contracts';
import { NatsLink } from './nats-link';
import { currentRequest, REQUEST_ID_HEADER } from './logging/request-context';
import { RemoteError } from './rpc-errors';

const codec = JSONCodec();
/** How long a call made while NATS is out of reach waits for a server before it fails. */
const RECONNECT_WAIT_MS = 5000;

/**
 * Typed request/reply over NATS, in the wire format of Nest's NATS transport (`{pattern, data,
 * id}` in, `{response}` or `{err}` out). Every call has a timeout and every failure is a
 * RemoteError with a code. Calls are plain NATS requests, so a call nothing listens for fails
 * at once ("no responders") instead of at its timeout, and the calls waiting when this
 * process's connection drops fail at once too: their replies would be sent to a connection
 * that is gone.
 */
@Injectable()
export class NatsRpc implements OnModuleDestroy {
  private readonly waiting = new Set<(err: RemoteError) => void>();
  private closed = false;
  private readonly logger = new Logger(NatsRpc.name);

  private readonly nc: NatsConnection;

  constructor(private readonly link: NatsLink) {
    this.nc = link.connection;
    void this.failWaitingOnDisconnect();
  }

  onModuleDestroy(): void {
    this.closed = true;
  }

  /** `to` sends the call on another subject with the same shape (a runner's own subject). */
  async send<S extends RpcSubject>(
    subject: S,
    request: RpcRequest<S>,
    timeoutMs: number,
    to: string = subject,
  ): Promise<RpcReply<S>> {
    // Sent while between two servers, a request would be dropped: it waits for the reconnect.
    if (!(await this.link.whenConnected(Math.min(timeoutMs, RECONNECT_WAIT_MS)))) {
      throw new RemoteError(ErrorCodes.DependencyUnavailable, 'not connected to NATS now', 1);
    }
    let packet: { err?: unknown; response?: unknown };
    let fail!: (err: RemoteError) => void;
    const dropped = new Promise<never>((_, reject) => (fail = reject));
    this.waiting.add(fail);
    try {
      const msg = await Promise.race([
        this.nc.request(to, codec.encode({ pattern: subject, data: request, id: randomUUID() }), {
          timeout: timeoutMs,
          headers: requestHeaders(),
        }),
        dropped,
      ]);
      packet = codec.decode(msg.data) as typeof packet;
    } catch (err) {
      if (to !== subject && (err as { code?: unknown }).code === NatsErrorCode.NoResponders) {
        // A process's own subject: that one process is not connected.
        const [, service, id] = to.split('.');
        throw new RemoteError(ErrorCodes.DependencyUnavailable, `${service} ${id} is not connected now`, 1);
      }
      throw toRemoteError(subject, timeoutMs, err);
    } finally {
      this.waiting.delete(fail);
    }
    if (packet.err !== undefined && packet.err !== null) throw toRemoteError(subject, timeoutMs, packet.err);
    return packet.response as RpcReply<S>;
  }

  private async failWaitingOnDisconnect(): Promise<void> {
    for await (const status of this.nc.status()) {
      if (this.closed) return;
      if (status.type === Events.Reconnect)
        this.logger.log(`NATS connection moved to ${JSON.stringify(status.data)}`);
      if (status.type !== Events.Disconnect) continue;
      this.logger.warn(
        `NATS connection to ${JSON.stringify(status.data)} dropped; ${this.waiting.size} call(s) waiting on it fail`,
      );
      const error = new RemoteError(
        ErrorCodes.DependencyUnavailable,
        'the connection to NATS dropped while waiting for the answer; the request may have been carried out',
        1,
      );
      for (const fail of [...this.waiting]) fail(error);
      this.waiting.clear();
    }
  }
}

/** The request being served travels with the call, so the callee's log lines carry its id. */
function requestHeaders() {
  const id = currentRequest()?.correlation_id;
  if (!id) return undefined;
  const h = headers();
  h.set(REQUEST_ID_HEADER, id);
  return h;
}

export function toRemoteError(subject: string, timeoutMs: number, err: unknown): RemoteError {
  if (err instanceof RemoteError) return err;
  if (isErrorPayload(err)) return new RemoteError(err.code, err.message, err.retry_after);
  const service = answeringService(subject);
  const code = (err as { code?: unknown } | null)?.code;
  if (code === NatsErrorCode.Timeout) {
    return new RemoteError(
      ErrorCodes.DependencyTimeout,
      `the ${service} did not answer within ${timeoutMs} ms`,
    );
  }
  if (code === NatsErrorCode.NoResponders) {
    return new RemoteError(ErrorCodes.DependencyUnavailable, `no ${service} is connected now`, 1);
  }
  const text = err instanceof Error ? err.message : JSON.stringify(err);
  if (/MAX_PAYLOAD|payload/i.test(text)) {
    return new RemoteError(ErrorCodes.PayloadTooLarge, 'the request is too large to be forwarded');
  }
  return new RemoteError(ErrorCodes.DependencyUnavailable, `the ${service} is unavailable`);
}

/** The app that serves the subjects under `executor.<token>.`: error messages name it. */
const SERVICE_BY_TOKEN: Record<string, string> = {
  execution: 'session-service',
  session: 'session-service',
  runner: 'runner',
  templates: 'template-service',
  metrics: 'metrics service',
  admin: 'metrics service',
};

/** The app that answers calls on `subject` (`executor.execution.run`: the session-service). */
export function answeringService(subject: string): string {
  const token = subject.split('.')[1] ?? subject;
  return SERVICE_BY_TOKEN[token] ?? `${token} service`;
}
