import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Bytes from kernels after which a quiet runner collects its garbage. */
export const RECLAIM_AFTER_BYTES = 8 * 1024 * 1024;
/** How long kernels must have sent nothing before that collection runs. */
export const RECLAIM_QUIET_MS = 2000;

let collect: (() => void) | null | undefined;
function collector(): (() => void) | null {
  if (collect !== undefined) return collect;
  const exposed = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === 'function') return (collect = exposed as () => void);
  try {
    // The documented flag, set at run time; `gc` then exists in contexts made after it.
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    collect = typeof gc === 'function' ? (gc as () => void) : null;
  } catch {
    collect = null;
  }
  return collect;
}

let bytes = 0;
let timer: NodeJS.Timeout | undefined;

/**
 * Counts bytes that came from kernels. Once RECLAIM_AFTER_BYTES have passed and kernels have
 * been quiet for RECLAIM_QUIET_MS, one full collection runs. V8 collects only under allocation
 * pressure, so without it the garbage of one burst of large output (tens of MiB of frames,
 * most of them dropped) stays resident for as long as the runner is idle. Off every reply's
 * path; at most one timer, pushed back while output keeps coming.
 */
export function noteKernelBytes(n: number): void {
  bytes += n;
  if (bytes < RECLAIM_AFTER_BYTES) return;
  if (timer) {
    timer.refresh();
    return;
  }
  timer = setTimeout(() => {
    timer = undefined;
    bytes = 0;
    collector()?.();
  }, RECLAIM_QUIET_MS);
  timer.unref();
}
