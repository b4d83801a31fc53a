import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * What ties a log line to the work it was written for. `request_id` is the HTTP request that
 * started the work (X-Request-ID, carried over NATS in a header); `correlation_id` is the same
 * id, or the RPC's own id when no HTTP request started it (a sweeper's call, say). Events keep
 * the correlation id too, so one id finds a request's log lines and its events.
 */
export interface RequestContext {
  request_id?: string;
  correlation_id: string;
}

/** The NATS header that carries the request id from one process to the next. */
export const REQUEST_ID_HEADER = 'X-Request-ID';
/** An id we accept from outside: short, no spaces or quotes. */
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,100}$/;

const storage = new AsyncLocalStorage<RequestContext>();

/** Runs `fn` (and everything it starts) inside the context of one request or RPC. */
export function runInRequest<T>(context: RequestContext, fn: () => T): T {
  return storage.run(context, fn);
}

/** The request or RPC being served now, if any. */
export function currentRequest(): RequestContext | undefined {
  return storage.getStore();
}
