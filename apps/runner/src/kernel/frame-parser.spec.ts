import { FrameParser, type KernelFrame } from './frame-parser';

function collect() {
  const frames: KernelFrame[] = [];
  const raw: string[] = [];
  const parser = new FrameParser(
    (f) => frames.push(f),
    (b) => raw.push(b.toString()),
  );
  return { frames, raw, parser };
}

const frame = (f: object) => Buffer.from('\x1e' + JSON.stringify(f) + '\n');

describe('FrameParser', () => {
  it('parses whole frames', () => {
    const { frames, parser } = collect();
    parser.push(Buffer.concat([frame({ t: 'ready' }), frame({ t: 'done', exit_code: 0 })]));
    expect(frames.map((f) => f.t)).toEqual(['ready', 'done']);
  });

  it('reassembles a frame split across chunks, byte by byte', () => {
    const { frames, raw, parser } = collect();
    const bytes = frame({ t: 'out', n: 'stdout', b: 'aGk=' });
    for (const b of bytes) parser.push(Buffer.from([b]));
    expect(frames).toEqual([{ t: 'out', n: 'stdout', b: 'aGk=' }]);
    expect(raw).toEqual([]);
  });

  it('passes lines without the separator on as raw output', () => {
    const { frames, raw, parser } = collect();
    parser.push(Buffer.from('child says hi\n'));
    parser.push(frame({ t: 'ready' }));
    parser.push(Buffer.from('partial'));
    expect(raw).toEqual(['child says hi\n', 'partial']);
    expect(frames).toHaveLength(1);
  });

  it('treats a separator line that is not JSON as raw', () => {
    const { frames, raw, parser } = collect();
    parser.push(Buffer.from('\x1enot json\n'));
    expect(frames).toEqual([]);
    expect(raw).toEqual(['\x1enot json\n']);
  });

  it('gives up on an endless line without a newline', () => {
    const frames: KernelFrame[] = [];
    const raw: Buffer[] = [];
    const parser = new FrameParser(
      (f) => frames.push(f),
      (b) => raw.push(b),
      10,
    );
    parser.push(Buffer.from('\x1e' + 'x'.repeat(20)));
    expect(raw[0].length).toBe(21);
  });
});
