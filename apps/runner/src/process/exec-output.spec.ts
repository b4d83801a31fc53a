import { CHUNK_BYTES, DockerDemuxer, ProcessOutput } from './exec-output';

const frame = (stream: 1 | 2, payload: string | Buffer): Buffer => {
  const body = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
};

describe('DockerDemuxer', () => {
  it('splits multiplexed frames into stdout and stderr, however the bytes are cut', () => {
    const wire = Buffer.concat([frame(1, 'out one\n'), frame(2, 'err\n'), frame(1, 'two')]);
    for (let cut = 1; cut < wire.length; cut++) {
      const d = new DockerDemuxer();
      const chunks = [...d.push(wire.subarray(0, cut)), ...d.push(wire.subarray(cut))];
      const text = (s: string) =>
        chunks
          .filter((c) => c.stream === s)
          .map((c) => c.data.toString())
          .join('');
      expect(text('stdout')).toBe('out one\ntwo');
      expect(text('stderr')).toBe('err\n');
    }
  });

  it('passes a large frame on as it arrives, holding no more than a header', () => {
    const d = new DockerDemuxer();
    const big = frame(1, Buffer.alloc(100000, 0x61));
    expect(d.push(big.subarray(0, 5))).toEqual([]);
    const first = d.push(big.subarray(5, 5000));
    expect(first.reduce((n, c) => n + c.data.length, 0)).toBe(4992);
  });
});

describe('ProcessOutput', () => {
  const out = (data: string, stream: 'stdout' | 'stderr' | 'pty' = 'stdout') => ({
    stream,
    data: Buffer.from(data),
  });

  it('reads the pid line first, then passes output on', () => {
    const o = new ProcessOutput(1000);
    expect(o.push(out('12'))).toEqual([]);
    expect(o.pid).toBeNull();
    const sent = o.push(out('3\nhello'));
    expect(o.pid).toBe(123);
    expect(sent.map((c) => c.data.toString())).toEqual(['hello']);
    // A TTY's line ends in \r\n.
    const tty = new ProcessOutput(1000);
    tty.push(out('77\r\n$ ', 'pty'));
    expect(tty.pid).toBe(77);
  });

  it('refuses a first line that is not a pid', () => {
    expect(() => new ProcessOutput(1000).push(out('hello\n'))).toThrow(/pid/);
    expect(() => new ProcessOutput(1000).push(out('1'.repeat(40)))).toThrow(/pid/);
    expect(() => new ProcessOutput(1000).push(out('0\n'))).toThrow(/pid/);
  });

  it('keeps to its budget, counts what it dropped, and cuts chunks to the bus size', () => {
    const o = new ProcessOutput(CHUNK_BYTES + 10);
    o.push(out('5\n'));
    const sent = o.push(out('x'.repeat(CHUNK_BYTES + 50)));
    expect(sent.map((c) => c.data.length)).toEqual([CHUNK_BYTES, 10]);
    expect(o.push(out('more'))).toEqual([]);
    expect(o.bytes).toBe(CHUNK_BYTES + 10);
    expect(o.dropped).toBe(44);
    expect(o.truncated).toBe(true);
  });
});
