import { PassThrough } from 'node:stream';
import { SseWriter } from './sse-writer';

describe('SseWriter', () => {
  it('writes events with their position as id, and comments', () => {
    const out = new PassThrough();
    const sse = new SseWriter(out);
    sse.event(7, { type: 'SessionCreated', note: 'a\nb' });
    sse.comment('heartbeat\nx');
    expect(String(out.read())).toBe(
      'id: 7\ndata: {"type":"SessionCreated","note":"a\\nb"}\n\n: heartbeat x\n\n',
    );
  });

  it('drops a client that leaves more than the bound unread', () => {
    const out = new PassThrough({ highWaterMark: 16 });
    let dropped = 0;
    const sse = new SseWriter(out, 4096, () => dropped++);
    for (let i = 1; i <= 200 && sse.open; i++) sse.event(i, { pad: 'x'.repeat(100) });
    expect(dropped).toBe(1);
    expect(out.destroyed).toBe(true);
    expect(out.writableLength).toBeLessThanOrEqual(4096);
    sse.event(999, {});
    expect(dropped).toBe(1);
  });
});
