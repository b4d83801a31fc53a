import { ExponentialBackoff, handleWhen, noJitterGenerator, retry } from 'cockatiel';

/** How far apart attempts are: the first wait, doubled after each failure up to the largest. */
export interface Backoff {
  /** The wait before the second attempt, in milliseconds. */
  firstMs: number;
  /** The longest wait; equal to `firstMs` for a constant pace. */
  maxMs: number;
}

export interface RetryOptions extends Backoff {
  /** Whether a failure is worth another attempt; any other failure is thrown at once. */
  retryOn: (err: unknown) => boolean;
  /** Attempts in all, the first included; Infinity keeps trying until `signal` aborts. */
  attempts: number;
  /** Once aborted, the next failure is thrown instead of retried. */
  signal?: AbortSignal;
  /** Told of each failure that is retried, before the wait (to log it). */
  onRetry?: (err: unknown, attempt: number, waitMs: number) => void;
}

/**
 * Runs `fn` until it succeeds, a failure is not worth retrying, the attempts run out or
 * `signal` aborts; the last failure is thrown. The one retry loop of the services, over
 * cockatiel's retry policy: exponential waits without jitter (the callers are a few processes
 * of one installation, not a crowd of clients), on an unreferenced timer, so a pending retry
 * never keeps a process that is stopping alive.
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  if (!(opts.attempts >= 1)) throw new RangeError('attempts must be at least 1');
  const policy = retry(
    handleWhen((err) => opts.retryOn(err)),
    {
      maxAttempts: opts.attempts - 1,
      backoff: new ExponentialBackoff({
        generator: noJitterGenerator,
        initialDelay: opts.firstMs,
        maxDelay: opts.maxMs,
      }),
    },
  ).dangerouslyUnref();
  const listener = policy.onRetry((r) => {
    if ('error' in r) opts.onRetry?.(r.error, r.attempt, r.delay);
  });
  try {
    return await policy.execute(({ attempt }) => fn(attempt + 1), opts.signal);
  } finally {
    listener.dispose();
  }
}

/**
 * The wait after `failures` failures in a row (1 for the first), by the same rule as
 * withRetry: for loops that do not wait in place but schedule the next try (a pool that
 * starts sandboxes when asked).
 */
export function backoffMs(failures: number, backoff: Backoff): number {
  if (failures < 1) return 0;
  return Math.min(backoff.maxMs, backoff.firstMs * 2 ** (failures - 1));
}
