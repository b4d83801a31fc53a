import { CallHandler, ExecutionContext, Injectable, Logger, NestInterceptor } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Observable, tap } from 'rxjs';
import { REQUEST_ID_HEADER, REQUEST_ID_PATTERN, runInRequest, type RequestContext } from './request-context';

/** Health checks and scrapes come every few seconds from probes: their lines are debug. */
const QUIET_SUBJECTS = /\.health$|^executor\.metrics\.(prometheus|get)$/;

interface HeadersLike {
  get(name: string): string;
}

/** The ids of an RPC: the caller's request id from the header, else the command's correlation id, else a new one. */
export function rpcRequestContext(headers: HeadersLike | undefined, data: unknown): RequestContext {
  const given = headers?.get(REQUEST_ID_HEADER);
  if (given && REQUEST_ID_PATTERN.test(given)) return { request_id: given, correlation_id: given };
  const correlation = (data as { correlation_id?: unknown } | null)?.correlation_id;
  if (typeof correlation === 'string' && REQUEST_ID_PATTERN.test(correlation))
    return { request_id: correlation, correlation_id: correlation };
  return { correlation_id: randomUUID() };
}

/**
 * Serves each RPC inside its request context, so every line written while serving it carries
 * its ids (pino's mixin reads them) and the calls it makes pass them on; ends with one line
 * saying what was served, how it went and how long it took.
 */
@Injectable()
export class RpcContextInterceptor implements NestInterceptor {
  private readonly logger = new Logger('rpc');

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'rpc') return next.handle();
    const rpc = context.switchToRpc();
    const natsContext = rpc.getContext<{
      getHeaders?: () => HeadersLike | undefined;
      getSubject?: () => string;
    }>();
    const ids = rpcRequestContext(natsContext?.getHeaders?.(), rpc.getData());
    const subject = natsContext?.getSubject?.() ?? 'unknown';
    const started = performance.now();
    const done = (outcome: string) => {
      const duration_ms = Math.round((performance.now() - started) * 10) / 10;
      const line = { rpc: subject, outcome, duration_ms, msg: `${subject} ${outcome} in ${duration_ms} ms` };
      if (QUIET_SUBJECTS.test(subject)) this.logger.debug(line);
      else this.logger.log(line);
    };
    return new Observable((subscriber) =>
      runInRequest(ids, () =>
        next
          .handle()
          .pipe(tap({ complete: () => done('ok'), error: () => done('error') }))
          .subscribe(subscriber),
      ),
    );
  }
}
