describe('memory reclaim after large kernel output', () => {
  let gc: jest.Mock;
  let note: (n: number) => void;
  let limits: { RECLAIM_AFTER_BYTES: number; RECLAIM_QUIET_MS: number };

  beforeEach(() => {
    jest.useFakeTimers();
    gc = jest.fn();
    (globalThis as { gc?: unknown }).gc = gc;
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const m = require('./memory-reclaim') as typeof import('./memory-reclaim');
      note = m.noteKernelBytes;
      limits = m;
    });
  });
  afterEach(() => {
    delete (globalThis as { gc?: unknown }).gc;
    jest.useRealTimers();
  });

  it('collects once, after the threshold and a quiet interval', () => {
    note(limits.RECLAIM_AFTER_BYTES - 1);
    jest.advanceTimersByTime(limits.RECLAIM_QUIET_MS * 2);
    expect(gc).not.toHaveBeenCalled();
    note(1);
    jest.advanceTimersByTime(limits.RECLAIM_QUIET_MS - 1);
    expect(gc).not.toHaveBeenCalled();
    jest.advanceTimersByTime(1);
    expect(gc).toHaveBeenCalledTimes(1);
    jest.advanceTimersByTime(limits.RECLAIM_QUIET_MS * 5);
    expect(gc).toHaveBeenCalledTimes(1);
  });

  it('waits while output keeps coming', () => {
    note(limits.RECLAIM_AFTER_BYTES);
    for (let i = 0; i < 10; i++) {
      jest.advanceTimersByTime(limits.RECLAIM_QUIET_MS / 2);
      note(1024);
    }
    expect(gc).not.toHaveBeenCalled();
    jest.advanceTimersByTime(limits.RECLAIM_QUIET_MS);
    expect(gc).toHaveBeenCalledTimes(1);
  });
});
