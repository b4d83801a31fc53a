import { backoffMs, withRetry } from './retry';

class Transient extends Error {}

/** A call that fails `failures` times with `error`, then answers `ok`. */
function flaky(failures: number, error: () => Error = () => new Transient('busy')) {
  const calls: number[] = [];
  const fn = (attempt: number) => {
    calls.push(attempt);
    return calls.length <= failures ? Promise.reject(error()) : Promise.resolve('ok');
  };
  return { fn, calls };
}

const transient = (err: unknown) => err instanceof Transient;

describe('withRetry', () => {
  it('retries what is worth retrying, with waits doubling up to the largest', async () => {
    const { fn, calls } = flaky(4);
    const waits: number[] = [];
    const started = Date.now();
    await expect(
      withRetry(fn, {
        retryOn: transient,
        attempts: 10,
        firstMs: 10,
        maxMs: 30,
        onRetry: (_err, _attempt, waitMs) => waits.push(waitMs),
      }),
    ).resolves.toBe('ok');
    expect(calls).toEqual([1, 2, 3, 4, 5]);
    expect(waits).toEqual([10, 20, 30, 30]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(85);
  });

  it('throws any other failure at once', async () => {
    const { fn, calls } = flaky(3, () => new Error('bad input'));
    await expect(withRetry(fn, { retryOn: transient, attempts: 5, firstMs: 1, maxMs: 1 })).rejects.toThrow(
      'bad input',
    );
    expect(calls).toEqual([1]);
  });

  it('throws the last failure when the attempts run out', async () => {
    let n = 0;
    const fn = () => Promise.reject(new Transient(`failure ${++n}`));
    await expect(withRetry(fn, { retryOn: transient, attempts: 3, firstMs: 1, maxMs: 1 })).rejects.toThrow(
      'failure 3',
    );
    expect(n).toBe(3);
  });

  it('makes one attempt only when told so', async () => {
    const { fn, calls } = flaky(1);
    await expect(withRetry(fn, { retryOn: transient, attempts: 1, firstMs: 1, maxMs: 1 })).rejects.toThrow(
      Transient,
    );
    expect(calls).toEqual([1]);
    await expect(withRetry(fn, { retryOn: transient, attempts: 0, firstMs: 1, maxMs: 1 })).rejects.toThrow(
      RangeError,
    );
  });

  it('keeps trying without a limit until the signal aborts', async () => {
    const stop = new AbortController();
    let n = 0;
    const fn = () => {
      if (++n === 5) stop.abort();
      return Promise.reject(new Transient(`failure ${n}`));
    };
    await expect(
      withRetry(fn, { retryOn: transient, attempts: Infinity, firstMs: 1, maxMs: 2, signal: stop.signal }),
    ).rejects.toThrow('failure 5');
    expect(n).toBe(5);
  });
});

describe('backoffMs', () => {
  it('follows the same rule as withRetry', () => {
    const b = { firstMs: 500, maxMs: 30000 };
    expect([0, 1, 2, 3, 6, 7, 20].map((f) => backoffMs(f, b))).toEqual([
      0, 500, 1000, 2000, 16000, 30000, 30000,
    ]);
  });
});
