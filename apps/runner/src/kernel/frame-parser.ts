import type { FileOpReply } from '@executor/contracts';

/** A frame sent by an in-sandbox kernel (see apps/runner/kernels/python_kernel.py). */
export type KernelFrame =
  | { t: 'ready' }
  | { t: 'out'; n: 'stdout' | 'stderr'; b: string }
  | { t: 'trunc'; n: 'stdout' | 'stderr' }
  | { t: 'result'; data: Record<string, unknown>; main: boolean }
  | { t: 'error'; name: string; value: string; traceback: string }
  | { t: 'file'; name: string; mime: string; size: number; b: string }
  | ({ t: 'files' } & FileOpReply)
  | {
      t: 'done';
      exit_code: number;
      stdout_bytes: number;
      stderr_bytes: number;
      stdout_truncated?: boolean;
      stderr_truncated?: boolean;
    };

const RS = 0x1e;
const NL = 0x0a;

/**
 * Splits a kernel's stdout into frames: lines that start with the record separator (0x1E)
 * are JSON frames; anything else (a child process writing to the kernel's own stdout) is
 * raw output and is passed on as such, never parsed.
 */
export class FrameParser {
  private pending: Buffer[] = [];
  private pendingLength = 0;

  constructor(
    private readonly onFrame: (frame: KernelFrame) => void,
    private readonly onRaw: (data: Buffer) => void,
    private readonly maxLineBytes = 64 * 1024 * 1024,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(NL, start);
      if (nl < 0) break;
      const piece = chunk.subarray(start, nl + 1);
      const line = this.pendingLength ? Buffer.concat([...this.pending, piece]) : piece;
      this.pending = [];
      this.pendingLength = 0;
      this.line(line);
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      if (this.pendingLength === 0 && rest[0] !== RS) {
        // Raw output without a newline yet: pass it on now, nothing to reassemble.
        this.onRaw(Buffer.from(rest));
        return;
      }
      this.pending.push(Buffer.from(rest));
      this.pendingLength += rest.length;
      if (this.pendingLength > this.maxLineBytes) {
        const line = Buffer.concat(this.pending);
        this.pending = [];
        this.pendingLength = 0;
        this.onRaw(line);
      }
    }
  }

  private line(line: Buffer): void {
    if (line[0] !== RS) {
      this.onRaw(line);
      return;
    }
    try {
      const frame = JSON.parse(line.subarray(1).toString('utf8')) as KernelFrame;
      if (frame && typeof frame === 'object' && typeof frame.t === 'string') {
        this.onFrame(frame);
        return;
      }
    } catch {
      // not a frame after all
    }
    this.onRaw(line);
  }
}
