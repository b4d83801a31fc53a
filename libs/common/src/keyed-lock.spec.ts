import { KeyedLock } from './keyed-lock';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('KeyedLock', () => {
  it('runs tasks of one key one after the other, even when one fails', async () => {
    const lock = new KeyedLock();
    const order: string[] = [];
    const a = lock.run('k', async () => {
      order.push('a start');
      await tick(20);
      order.push('a end');
      throw new Error('a failed');
    });
    const b = lock.run('k', async () => {
      order.push('b start');
      await tick(1);
      order.push('b end');
      return 'b';
    });
    await expect(a).rejects.toThrow('a failed');
    await expect(b).resolves.toBe('b');
    expect(order).toEqual(['a start', 'a end', 'b start', 'b end']);
  });

  it('runs tasks of different keys side by side', async () => {
    const lock = new KeyedLock();
    const order: string[] = [];
    await Promise.all([
      lock.run('x', async () => {
        order.push('x start');
        await tick(20);
        order.push('x end');
      }),
      lock.run('y', async () => {
        order.push('y start');
        await tick(1);
        order.push('y end');
      }),
    ]);
    expect(order).toEqual(['x start', 'y start', 'y end', 'x end']);
  });
});
