import { rpcTimeouts, runLostGraceMs, runReplyTimeoutMs, runTimeoutS } from './rpc-timeouts';

describe('rpcTimeouts', () => {
  it('names the budgets of the default RPC_TIMEOUT_MS', () => {
    expect(rpcTimeouts(5000)).toEqual({
      plain: 5000,
      forwarded: 10000,
      storeQuery: 10000,
      sandboxOpen: 65000,
      sessionOpen: 95000,
      fileOp: 35000,
      fileOpForwarded: 40000,
      strayGrace: 35000,
    });
  });

  it.each([100, 5000, 120000])(
    'gives every caller more time than the call it forwards (RPC_TIMEOUT_MS=%i)',
    (rpc) => {
      const t = rpcTimeouts(rpc);
      expect(t.forwarded).toBeGreaterThan(t.plain);
      expect(t.sessionOpen).toBeGreaterThan(t.sandboxOpen);
      expect(t.fileOpForwarded).toBeGreaterThan(t.fileOp);
      // The sandbox's own file operation (FILE_OP_MS at the runner) fits inside the wait for it.
      expect(t.fileOp).toBeGreaterThan(30000);
    },
  );
});

describe('runTimeoutS', () => {
  it('takes the timeout asked for, else the template default', () => {
    expect(runTimeoutS(7, 60)).toBe(7);
    expect(runTimeoutS(undefined, 60)).toBe(60);
  });

  it('holds the template default to the tenant cap, so leaving timeout out buys nothing', () => {
    expect(runTimeoutS(undefined, 120, 5)).toBe(5);
    expect(runTimeoutS(undefined, 30, 300)).toBe(30);
    expect(runTimeoutS(9, 120, 5)).toBe(5);
  });
});

describe('run reply and loss budgets', () => {
  it('waits for the run plus the overhead, and takes it for lost one overhead later', () => {
    expect(runReplyTimeoutMs(30, 60)).toBe(90000);
    expect(runLostGraceMs(10)).toBe(20000);
    expect(30000 + runLostGraceMs(10)).toBeGreaterThan(runReplyTimeoutMs(30, 10));
  });
});
