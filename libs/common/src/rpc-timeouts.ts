/**
 * How long each internal call may take: every budget named once, here. A call that makes
 * further calls waits for their budget plus one plain call's time more (its own lookups and
 * the hop), so the innermost timeout fires first and its error, the more precise one, is what
 * the caller sees.
 */

/** What a runner may take to open a sandbox or start a context's kernel (its KERNEL_READY_TIMEOUT_S). */
export const SANDBOX_OPEN_MS = 60_000;
/** What the session-service may spend around opening a sandbox: lookups, appends, another runner. */
export const SESSION_OPEN_WORK_MS = 30_000;
/** What a sandbox may take for one file operation (a file of up to 10 MB in or out). */
export const FILE_OP_MS = 30_000;

export interface RpcTimeouts {
  /** A call answered from memory or with one query: a lookup, a list, a close. */
  plain: number;
  /** A call whose service answers after one plain call of its own (a template's image status, a session's sandbox closed). */
  forwarded: number;
  /** A query over the event store that may read many rows (the admin pages). */
  storeQuery: number;
  /** A runner opening a session's sandbox or starting a context's kernel (session-service → runner). */
  sandboxOpen: number;
  /** A session created or a context started, end to end (api → session-service → runner). */
  sessionOpen: number;
  /** A file operation at the runner holding the sandbox (session-service → runner). */
  fileOp: number;
  /** A file operation end to end (api → session-service → runner). */
  fileOpForwarded: number;
  /**
   * How long a runner may hold a sandbox no live session owns before it is closed: the create
   * that opened it has had its time to record the session (its caller has stopped waiting).
   */
  strayGrace: number;
}

/** The budgets for `RPC_TIMEOUT_MS`, the timeout of a plain call (BaseConfig). */
export function rpcTimeouts(rpcTimeoutMs: number): RpcTimeouts {
  const plain = rpcTimeoutMs;
  const around = (innerMs: number) => innerMs + plain;
  const sandboxOpen = around(SANDBOX_OPEN_MS);
  const fileOp = around(FILE_OP_MS);
  return {
    plain,
    forwarded: around(plain),
    storeQuery: 2 * plain,
    sandboxOpen,
    sessionOpen: sandboxOpen + SESSION_OPEN_WORK_MS,
    fileOp,
    fileOpForwarded: around(fileOp),
    strayGrace: around(SESSION_OPEN_WORK_MS),
  };
}

/**
 * A run's timeout in seconds: the one asked for, else the template's default; either held to
 * the tenant's cap (a key's max_timeout_s or MAX_TIMEOUT_S), so leaving `timeout` out never
 * buys more than asking for it.
 */
export function runTimeoutS(asked: number | undefined, templateDefault: number, capS?: number): number {
  const timeout = asked ?? templateDefault;
  return capS === undefined ? timeout : Math.min(timeout, capS);
}

/** How long to wait for a run's reply: its timeout plus the overhead of the layers below. */
export function runReplyTimeoutMs(runTimeoutSeconds: number, overheadS: number): number {
  return (runTimeoutSeconds + overheadS) * 1000;
}

/**
 * How long past its timeout an execution that has not ended is taken for lost: the caller's
 * wait for it (runReplyTimeoutMs) is over, and one more overhead has passed for its end to be
 * recorded.
 */
export function runLostGraceMs(overheadS: number): number {
  return 2 * overheadS * 1000;
}
