import { Writable } from 'node:stream';

/**
 * Keeps the first `limit` bytes of a stream and counts the rest. The program is never
 * stopped for printing: what is past the cap is read and dropped, and `truncated` says so.
 */
export class OutputCapture {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  total = 0;

  constructor(private readonly limit: number) {}

  get truncated(): boolean {
    return this.total > this.kept;
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
