import { Writable } from 'node:stream';

/**
 * Keeps the first `limit` bytes of a stream and counts the rest. The program is never
 * stopped for printing: what is past the cap is read and dropped, and `truncated` says so.
 */
export class OutputCapture {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  private cut = false;
  total = 0;

  constructor(private readonly limit: number) {}

  get truncated(): boolean {
    return this.cut || this.total > this.kept;
  }

  /** The producer dropped output before it reached us. */
  markTruncated(): void {
    this.cut = true;
  }

  /** The producer counted `reported` bytes in all; more than we saw means some were dropped. */
  reportTotal(reported: number): void {
    if (reported > this.total) this.total = reported;
  }

  /** Nothing more will be kept. */
  get full(): boolean {
    return this.kept >= this.limit;
  }

  /** Bytes that were produced but not handed over (the cap was reached). */
  count(bytes: number): void {
    this.total += bytes;
  }

  push(chunk: Buffer): void {
    this.total += chunk.length;
    const room = this.limit - this.kept;
    if (room <= 0) return;
    const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
    this.chunks.push(part);
    this.kept += part.length;
  }

  /** UTF-8 text; invalid bytes (and a multi-byte character cut by the cap) become U+FFFD. */
  text(): string {
    return Buffer.concat(this.chunks, this.kept).toString('utf8');
  }

  writable(): Writable {
    return new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        this.push(chunk);
        cb();
      },
    });
  }
}
