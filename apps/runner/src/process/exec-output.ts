/**
 * The output of a process started with `docker exec`, as the runner reads it: Docker's
 * multiplexed frames (8-byte header: stream, 0, 0, 0, length) without a TTY, raw bytes with
 * one; the first line is the pid the wrapper printed, then everything is the process's own.
 * All of it is written by the sandbox: buffers are bounded, and output past the process's
 * budget is dropped and counted.
 */

export type OutputStream = 'stdout' | 'stderr' | 'pty';

/** Chunks published on the bus are at most this long. */
export const CHUNK_BYTES = 64 * 1024;
/** The wrapper's first line: `<pid>\n`; anything longer than this is not a pid line. */
const MAX_PID_LINE = 16;

export interface OutputChunk {
  stream: OutputStream;
  data: Buffer;
}

/**
 * Splits Docker's multiplexed exec stream into stdout and stderr chunks. A header is 8 bytes and
 * a frame's payload is passed on as it arrives, so nothing larger than a header is ever held.
 */
export class DockerDemuxer {
  private header = Buffer.alloc(0);
  private remaining = 0;
  private stream: OutputStream = 'stdout';

  push(data: Buffer): OutputChunk[] {
    const out: OutputChunk[] = [];
    let at = 0;
    while (at < data.length) {
      if (this.remaining === 0) {
        const need = 8 - this.header.length;
        this.header = Buffer.concat([this.header, data.subarray(at, at + need)]);
        at += Math.min(need, data.length - at);
        if (this.header.length < 8) break;
        this.stream = this.header[0] === 2 ? 'stderr' : 'stdout';
        this.remaining = this.header.readUInt32BE(4);
        this.header = Buffer.alloc(0);
        continue;
      }
      const take = Math.min(this.remaining, data.length - at);
      out.push({ stream: this.stream, data: data.subarray(at, at + take) });
      this.remaining -= take;
      at += take;
    }
    return out;
  }
}

/**
 * Reads the pid line, then passes output on within the budget, in chunks of at most
 * CHUNK_BYTES. `pid` is null until the line is read; a first line that is not a pid is an error.
 */
export class ProcessOutput {
  pid: number | null = null;
  bytes = 0;
  dropped = 0;
  private pending = Buffer.alloc(0);

  constructor(private readonly budget: number) {}

  /** Returns the chunks to send; throws when the first line is not a pid. */
  push(chunk: OutputChunk): OutputChunk[] {
    let data = chunk.data;
    if (this.pid === null) {
      if (chunk.stream === 'stderr') return this.within(chunk.stream, data);
      this.pending = Buffer.concat([this.pending, data]);
      const nl = this.pending.indexOf(0x0a);
      if (nl < 0) {
        if (this.pending.length > MAX_PID_LINE) throw new Error('the process did not report its pid');
        return [];
      }
      const line = this.pending.subarray(0, nl).toString('latin1').replace(/\r$/, '');
      if (!/^[1-9][0-9]{0,9}$/.test(line) || Number(line) > 2 ** 31 - 1) {
        throw new Error('the process did not report its pid');
      }
      this.pid = Number(line);
      data = this.pending.subarray(nl + 1);
      this.pending = Buffer.alloc(0);
    }
    return this.within(chunk.stream, data);
  }

  get truncated(): boolean {
    return this.dropped > 0;
  }

  private within(stream: OutputStream, data: Buffer): OutputChunk[] {
    const room = Math.max(0, this.budget - this.bytes);
    const kept = data.subarray(0, room);
    this.dropped += data.length - kept.length;
    this.bytes += kept.length;
    const out: OutputChunk[] = [];
    for (let at = 0; at < kept.length; at += CHUNK_BYTES) {
      out.push({ stream, data: kept.subarray(at, at + CHUNK_BYTES) });
    }
    return out;
  }
}
