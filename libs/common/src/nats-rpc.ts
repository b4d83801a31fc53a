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
import { NATS_CLIENT } from './nats.constants';
import { RemoteError } from './rpc-errors';

/** Typed request/reply over NATS. Every call has a timeout; every failure is a RemoteError with a code. */
@Injectable()
export class NatsRpc {
  constructor(@Inject(NATS_CLIENT) private readonly client: ClientProxy) {}

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
}

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
