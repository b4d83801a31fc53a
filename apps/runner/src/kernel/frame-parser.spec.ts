import { FrameParser } from './frame-parser';
import { parseFrame } from './kernel-frames';

function collect(maxFrameBytes?: number) {
  const frames: string[] = [];
  const raw: string[] = [];
  const parser = new FrameParser(
    (f) => frames.push(f),
    (b) => raw.push(b.toString()),
    maxFrameBytes,
  );
  return { frames, raw, parser };
}

const frame = (f: object) => Buffer.from('\x1e' + JSON.stringify(f) + '\n');

describe('FrameParser', () => {
  it('parses whole frames', () => {
    const { frames, parser } = collect();
    parser.push(Buffer.concat([frame({ t: 'ready' }), frame({ t: 'done', exit_code: 0 })]));
    expect(frames.map((f) => (JSON.parse(f) as { t: string }).t)).toEqual(['ready', 'done']);
  });

  it('reassembles a frame split across chunks, byte by byte', () => {
    const { frames, raw, parser } = collect();
    const bytes = frame({ t: 'out', n: 'stdout', b: 'aGk=' });
    for (const b of bytes) parser.push(Buffer.from([b]));
    expect(frames).toEqual([JSON.stringify({ t: 'out', n: 'stdout', b: 'aGk=' })]);
    expect(raw).toEqual([]);
  });

  it('passes lines without the separator on as raw output, as they come', () => {
    const { frames, raw, parser } = collect();
    parser.push(Buffer.from('child says hi\n'));
    parser.push(frame({ t: 'ready' }));
    parser.push(Buffer.from('partial'));
    expect(raw).toEqual(['child says hi\n', 'partial']);
    expect(frames).toHaveLength(1);
  });

  it('a stray separator cannot swallow the frame that follows it', () => {
    const { frames, raw, parser } = collect();
    parser.push(Buffer.from('\x1e'));
    parser.push(Buffer.from('\x1e{"t":"broken'));
    parser.push(frame({ t: 'done', r: 'ab12cd34' }));
    expect(frames).toEqual([JSON.stringify({ t: 'done', r: 'ab12cd34' })]);
    expect(raw).toEqual([]);
  });

  it('raw bytes before a separator on the same line stay raw', () => {
    const { frames, raw, parser } = collect();
    parser.push(Buffer.concat([Buffer.from('abc'), frame({ t: 'ready' })]));
    expect(raw).toEqual(['abc']);
    expect(frames).toEqual(['{"t":"ready"}']);
  });

  it('drops an oversized frame as it streams past, holding no more than the maximum', () => {
    const { frames, raw, parser } = collect(1000);
    parser.push(Buffer.from('\x1e' + 'x'.repeat(600)));
    parser.push(Buffer.from('y'.repeat(600)));
    for (let i = 0; i < 100; i++) parser.push(Buffer.alloc(10_000, 0x7a));
    parser.push(Buffer.from('z\n'));
    parser.push(frame({ t: 'ready' }));
    expect(parser.drops.oversized).toBe(1);
    expect(frames).toEqual(['{"t":"ready"}']);
    expect(raw).toEqual([]);
  });

  it('an oversized frame ended in the same chunk does not eat the next one', () => {
    const { frames, parser } = collect(100);
    parser.push(Buffer.concat([Buffer.from('\x1e' + 'q'.repeat(500) + '\n'), frame({ t: 'ready' })]));
    expect(parser.drops.oversized).toBe(1);
    expect(frames).toEqual(['{"t":"ready"}']);
  });
});

describe('parseFrame', () => {
  const run = '0123456789abcdef01234567';

  it('accepts each frame type in its schema', () => {
    const valid = [
      { t: 'ready' },
      { t: 'out', r: run, n: 'stdout', b: 'aGk=' },
      { t: 'trunc', r: run, n: 'stderr' },
      { t: 'result', r: run, data: { 'text/plain': '1' }, main: true },
      { t: 'error', r: run, name: 'ValueError', value: 'x', traceback: 'tb' },
      { t: 'file', r: run, name: 'outputs/a.txt', mime: 'text/plain', size: 2, b: 'aGk=' },
      { t: 'files', r: run, path: '.', entries: [] },
      { t: 'done', r: run, exit_code: 0, stdout_bytes: 0, stderr_bytes: 0 },
    ];
    for (const f of valid) expect(parseFrame(JSON.stringify(f))).toMatchObject({ ok: true });
  });

  it.each([
    ['not JSON', 'nope'],
    ['null', 'null'],
    ['an unknown type', JSON.stringify({ t: 'shell', r: run })],
    ['result data null', JSON.stringify({ t: 'result', r: run, data: null })],
    [
      'a string exit code',
      JSON.stringify({ t: 'done', r: run, exit_code: '0', stdout_bytes: 0, stderr_bytes: 0 }),
    ],
    [
      'a fractional exit code',
      JSON.stringify({ t: 'done', r: run, exit_code: 0.5, stdout_bytes: 0, stderr_bytes: 0 }),
    ],
    ['an object as error value', JSON.stringify({ t: 'error', r: run, name: 'E', value: { toString: 1 } })],
    [
      'output bytes that are an object',
      JSON.stringify({ t: 'out', r: run, n: 'stdout', b: { length: 1e8 } }),
    ],
    ['output bytes that are not base64', JSON.stringify({ t: 'out', r: run, n: 'stdout', b: '<<>>' })],
    [
      'a file without bytes',
      JSON.stringify({ t: 'file', r: run, name: 'outputs/a', mime: 'x/y', size: 1, b: {} }),
    ],
    ['a frame without its run id', JSON.stringify({ t: 'out', n: 'stdout', b: 'aGk=' })],
    ['a run id that is not hex', JSON.stringify({ t: 'out', r: 'zz', n: 'stdout', b: 'aGk=' })],
    ['a ready pid that is not a number', JSON.stringify({ t: 'ready', pid: '1; kill -9 -1' })],
    ['a ready pid of 0 (every process of the group)', JSON.stringify({ t: 'ready', pid: 0 })],
    ['a ready pid past the kernel limit', JSON.stringify({ t: 'ready', pid: 2 ** 40 })],
  ])('refuses %s', (_what, text) => {
    expect(parseFrame(text).ok).toBe(false);
  });

  it('names the type and run of a refused frame so a malformed done can end its run', () => {
    expect(parseFrame(JSON.stringify({ t: 'done', r: run, exit_code: 'x' }))).toEqual({
      ok: false,
      type: 'done',
      run,
    });
  });
});
