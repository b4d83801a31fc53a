const RS = 0x1e;
const NL = 0x0a;

/** What the parser saw that was not a frame, counted for the run's report. */
export interface ParserDrops {
  /** Frames longer than the maximum: read and thrown away without being buffered. */
  oversized: number;
}

/**
 * Splits a kernel's stdout into frames, incrementally and within a hard bound. A frame is a
 * line whose JSON starts after the record separator (0x1E): the text after the *last*
 * separator on a line is the frame, so a stray separator written ahead of a frame (by code
 * that reached the channel) cannot swallow it. Bytes before the first separator of a line,
 * and lines without one, are raw output and are passed on as they come, never buffered.
 * A line longer than `maxFrameBytes` is dropped as it streams past: at most that many bytes
 * are ever held.
 */
export class FrameParser {
  private pending: Buffer[] = [];
  private pendingLength = 0;
  /** Inside a frame line (a separator was seen since the last newline). */
  private inFrame = false;
  /** Dropping the rest of an oversized frame line, up to its newline. */
  private skipping = false;
  readonly drops: ParserDrops = { oversized: 0 };

  constructor(
    private readonly onFrame: (json: string) => void,
    private readonly onRaw: (data: Buffer) => void,
    private readonly maxFrameBytes = 16 * 1024 * 1024,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      if (this.skipping) {
        const nl = chunk.indexOf(NL, start);
        if (nl < 0) return;
        this.skipping = false;
        start = nl + 1;
        continue;
      }
      if (!this.inFrame) {
        const rs = chunk.indexOf(RS, start);
        const nl = chunk.indexOf(NL, start);
        if (rs < 0 || (nl >= 0 && nl < rs)) {
          // Raw output up to and including the newline (or the chunk's end).
          const end = nl < 0 ? chunk.length : nl + 1;
          this.onRaw(Buffer.from(chunk.subarray(start, end)));
          start = end;
          continue;
        }
        if (rs > start) this.onRaw(Buffer.from(chunk.subarray(start, rs)));
        this.inFrame = true;
        start = rs + 1;
        continue;
      }
      const nl = chunk.indexOf(NL, start);
      const end = nl < 0 ? chunk.length : nl;
      // A later separator on the same line starts the frame anew.
      const rs = end > start ? chunk.lastIndexOf(RS, end - 1) : -1;
      if (rs >= start) {
        this.reset();
        start = rs + 1;
      }
      const piece = chunk.subarray(start, end);
      if (this.pendingLength + piece.length > this.maxFrameBytes) {
        this.drops.oversized++;
        this.reset();
        this.inFrame = false;
        if (nl < 0) this.skipping = true;
        start = nl < 0 ? chunk.length : nl + 1;
        continue;
      }
      if (nl < 0) {
        this.pending.push(Buffer.from(piece));
        this.pendingLength += piece.length;
        return;
      }
      const line = this.pendingLength ? Buffer.concat([...this.pending, piece]) : piece;
      this.reset();
      this.inFrame = false;
      start = nl + 1;
      this.onFrame(line.toString('utf8'));
    }
  }

  private reset(): void {
    this.pending = [];
    this.pendingLength = 0;
  }
}
