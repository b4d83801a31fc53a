import { Inject, Injectable } from '@nestjs/common';
import { ClientProxy } from '@nestjs/microservices';
import { firstValueFrom, timeout, TimeoutError } from 'rxjs';
import {
  ErrorCodes,
  isErrorPayload,
  type RpcReply,
  type RpcRequest,
  type RpcSubject,
} from '@executor/contracts';
import { randomUUID } from 'node:crypto';
import { ErrorCode as NatsErrorCode, JSONCodec, type NatsConnection } from 'nats';
import { NATS_CLIENT, NATS_CONNECTION } from './nats.constants';
import { RemoteError } from './rpc-errors';

/** Typed request/reply over NATS. Every call has a timeout; every failure is a RemoteError with a code. */
@Injectable()
export class NatsRpc {
  constructor(
    @Inject(NATS_CLIENT) private readonly client: ClientProxy,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
  ) {}

  async send<S extends RpcSubject>(
    subject: S,
    request: RpcRequest<S>,
    timeoutMs: number,
  ): Promise<RpcReply<S>> {
    try {
      return await firstValueFrom(
        this.client.send<RpcReply<S>, RpcRequest<S>>(subject, request).pipe(timeout(timeoutMs)),
      );
    } catch (err) {
      throw toRemoteError(subject, timeoutMs, err);
    }
  }

  /**
   * The call `subject` sent to one process's own subject `to` (a runner's), in the same wire
   * format. It goes as a plain NATS request, so when nothing listens there (the process is
   * gone, or between two NATS servers) it fails at once with DEPENDENCY_UNAVAILABLE ("no
   * responders") instead of at its timeout.
   */
  async sendTo<S extends RpcSubject>(
    subject: S,
    to: string,
    request: RpcRequest<S>,
    timeoutMs: number,
  ): Promise<RpcReply<S>> {
    let packet: { err?: unknown; response?: unknown };
    try {
      const msg = await this.nc.request(
        to,
        codec.encode({ pattern: subject, data: request, id: randomUUID() }),
        {
          timeout: timeoutMs,
        },
      );
      packet = codec.decode(msg.data) as typeof packet;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === NatsErrorCode.NoResponders) {
        throw new RemoteError(
          ErrorCodes.DependencyUnavailable,
          `nothing answers on ${to}: the process it names is not connected now`,
          1,
        );
      }
      if (code === NatsErrorCode.Timeout) throw toRemoteError(subject, timeoutMs, new TimeoutError());
      throw toRemoteError(subject, timeoutMs, err);
    }
    if (packet.err !== undefined && packet.err !== null) throw toRemoteError(subject, timeoutMs, packet.err);
    return packet.response as RpcReply<S>;
  }
}

const codec = JSONCodec();

export function toRemoteError(subject: string, timeoutMs: number, err: unknown): RemoteError {
  if (err instanceof RemoteError) return err;
  if (isErrorPayload(err)) return new RemoteError(err.code, err.message, err.retry_after);
  const service = subject.split('.')[1] ?? subject;
  if (err instanceof TimeoutError) {
    return new RemoteError(
      ErrorCodes.DependencyTimeout,
      `the ${service} service did not answer within ${timeoutMs} ms`,
    );
  }
  const text = err instanceof Error ? err.message : JSON.stringify(err);
  if (/MAX_PAYLOAD|payload/i.test(text)) {
    return new RemoteError(ErrorCodes.PayloadTooLarge, 'the request is too large to be forwarded');
  }
  return new RemoteError(ErrorCodes.DependencyUnavailable, `the ${service} service is unavailable`);
}
