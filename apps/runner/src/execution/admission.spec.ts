import { Admission, AdmissionRefused } from './admission';

const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
};

describe('Admission', () => {
  it('runs up to its capacity at once and queues the next ones in order', async () => {
    const a = new Admission(2, 10, 5000);
    const gates = [deferred(), deferred(), deferred()];
    const order: number[] = [];
    const runs = gates.map((g, i) =>
      a.run(async () => {
        order.push(i);
        await g.promise;
      }),
    );
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([0, 1]);
    expect(a.stats).toEqual({ running: 2, queued: 1 });
    gates[1].resolve();
    await runs[1];
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([0, 1, 2]);
    gates[0].resolve();
    gates[2].resolve();
    await Promise.all(runs);
    expect(a.stats).toEqual({ running: 0, queued: 0 });
  });

  it('refuses at once with a retry-after when the queue is full', async () => {
    const a = new Admission(1, 1, 5000);
    const gate = deferred();
    const first = a.run(() => gate.promise);
    const second = a.run(() => Promise.resolve('second'));
    const third = a.run(() => Promise.resolve('third'));
    await expect(third).rejects.toBeInstanceOf(AdmissionRefused);
    await expect(third).rejects.toMatchObject({ code: 'RUNNER_BUSY' });
    const err = await third.catch((e: AdmissionRefused) => e);
    expect((err as AdmissionRefused).retry_after).toBeGreaterThanOrEqual(1);
    expect(a.refused).toEqual({ queue_full: 1, wait_timeout: 0 });
    gate.resolve();
    await first;
    await expect(second).resolves.toBe('second');
  });

  it('refuses a waiter whose wait ran out, and does not run it later', async () => {
    const a = new Admission(1, 5, 50);
    const gate = deferred();
    const first = a.run(() => gate.promise);
    let ran = false;
    const waiting = a.run(() => {
      ran = true;
      return Promise.resolve();
    });
    await expect(waiting).rejects.toMatchObject({ code: 'RUNNER_BUSY' });
    expect(a.stats.queued).toBe(0);
    gate.resolve();
    await first;
    expect(ran).toBe(false);
    expect(a.stats).toEqual({ running: 0, queued: 0 });
    expect(a.refused).toEqual({ queue_full: 0, wait_timeout: 1 });
  });

  it('frees the slot when the work throws', async () => {
    const a = new Admission(1, 0, 50);
    await expect(a.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(a.run(() => Promise.resolve(1))).resolves.toBe(1);
  });
});
