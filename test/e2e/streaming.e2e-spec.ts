import { post, stackInfo } from './client';
import { containersOfRunner } from './client';
import { waitFor } from '../../scripts/lib/stack';

interface Frame {
  type: string;
  text?: string;
  result?: { stdout: string; status: string };
  data?: Record<string, unknown>;
}

/** Reads NDJSON frames as they arrive, with the time each one came. */
async function readFrames(
  res: Response,
  onFrame?: (f: Frame) => boolean,
): Promise<Array<Frame & { at: number }>> {
  const frames: Array<Frame & { at: number }> = [];
  const started = Date.now();
  const reader = res.body!.getReader();
  let buffer = '';
  for (;;) {
    const { done, value } = (await reader.read()) as { done: boolean; value?: Uint8Array };
    if (done) break;
    buffer += Buffer.from(value ?? new Uint8Array()).toString();
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      const frame = JSON.parse(line.replace(/^data: /, '')) as Frame;
      frames.push({ ...frame, at: Date.now() - started });
      if (onFrame && !onFrame(frame)) {
        await reader.cancel();
        return frames;
      }
    }
  }
  return frames;
}

const TICKER = 'import time\nfor i in range(20):\n    print("tick", i, flush=True)\n    time.sleep(0.1)\n21';

describe('streaming output', () => {
  it('delivers the first line of a 2 s run well before it ends, then the whole result', async () => {
    const started = Date.now();
    const res = await fetch(`${stackInfo().apiUrl}/execute`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tenant_id: 't-stream', code: TICKER, stream: true }),
    });
    expect(res.headers.get('content-type')).toContain('application/x-ndjson');
    const frames = await readFrames(res);
    const firstOut = frames.find((f) => f.type === 'stdout');
    expect(firstOut?.text).toBe('tick 0\n');
    expect(firstOut!.at).toBeLessThan(1000);
    expect(
      frames
        .filter((f) => f.type === 'stdout')
        .map((f) => f.text)
        .join(''),
    ).toContain('tick 19\n');
    expect(frames.some((f) => f.type === 'result' && (f.data?.['text/plain'] as string) === '21')).toBe(true);
    const done = frames.at(-1)!;
    expect(done.type).toBe('done');
    expect(done.result?.status).toBe('success');
    expect(done.result?.stdout.split('\n').filter(Boolean)).toHaveLength(20);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
  });

  it('speaks server-sent events when asked', async () => {
    const res = await fetch(`${stackInfo().apiUrl}/execute`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ tenant_id: 't-stream', code: 'print("hello")' }),
    });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const text = await res.text();
    expect(text).toContain('data: {"type":"stdout","text":"hello\\n"}');
    expect(text).toMatch(/data: \{"type":"done"/);
  });

  it('keeps errors found before streaming as plain HTTP errors', async () => {
    const res = await post<{ error: { code: string } }>('/execute', {
      tenant_id: 't',
      code: '1',
      stream: true,
      template: 'nope',
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('UNKNOWN_TEMPLATE');
  });

  it('kills a one-off run whose client disconnects', async () => {
    const controller = new AbortController();
    const res = await fetch(`${stackInfo().apiUrl}/execute`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        tenant_id: 't-stream',
        stream: true,
        timeout: 60,
        code: 'import os, time\nprint(os.environ["EXECUTOR_SANDBOX_ID"], flush=True)\nwhile True:\n    time.sleep(0.1)',
      }),
      signal: controller.signal,
    });
    const frames = await readFrames(res, () => false).catch(() => []);
    const sandboxId = frames[0]?.text?.trim();
    expect(sandboxId).toMatch(/^[0-9a-f-]{36}$/);
    controller.abort();
    // The cancel, the kill, the end of the run and the removal are four steps, three of them
    // calls to the engine: seconds on a loaded host. The run would otherwise last its 60 s.
    await waitFor(
      async () => (await containersOfRunner()).every((c) => c.Labels['executor.sandbox'] !== sandboxId),
      20000,
      'the sandbox of the abandoned run to go',
    );
  });

  it("streams a run's last line before its done line, run after run", async () => {
    const session = await post<{ session_id: string }>('/session/create', {
      tenant_id: 't-stream',
      scope: 'last-line',
    });
    const id = session.body.session_id;
    // The line is printed as the run ends: its frame and the run's reply leave the runner at once.
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${stackInfo().apiUrl}/session/execute`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ session_id: id, stream: true, code: `print("last ${i}")` }),
      });
      const frames = await readFrames(res);
      expect(frames.map((f) => f.type)).toEqual(['stdout', 'done']);
      expect(frames[0].text).toBe(`last ${i}\n`);
    }
  });

  it('interrupts a session run whose client disconnects, and keeps the session', async () => {
    const session = await post<{ session_id: string }>('/session/create', {
      tenant_id: 't-stream',
      scope: 'abandon',
    });
    const id = session.body.session_id;
    await post('/session/execute', { session_id: id, code: 'kept = 1' });
    const controller = new AbortController();
    const res = await fetch(`${stackInfo().apiUrl}/session/execute`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        session_id: id,
        stream: true,
        code: 'import time\nfor i in range(100):\n    open("progress.txt", "a").write("x")\n    print(i, flush=True)\n    time.sleep(0.1)',
      }),
      signal: controller.signal,
    });
    await readFrames(res, () => false).catch(() => []);
    controller.abort();
    const started = Date.now();
    // The session's lock is free again only once the run stopped.
    const first = await post<{ stdout: string }>('/session/execute', {
      session_id: id,
      code: 'print(len(open("progress.txt").read()), kept)',
    });
    // Well before the 10 s the run would take: the interrupt (a signal through the engine) ended it.
    expect(Date.now() - started).toBeLessThan(8000);
    await new Promise((r) => setTimeout(r, 500));
    const second = await post<{ stdout: string }>('/session/execute', {
      session_id: id,
      code: 'print(len(open("progress.txt").read()), kept)',
    });
    expect(second.body.stdout).toBe(first.body.stdout);
    expect(Number(first.body.stdout.split(' ')[0])).toBeLessThan(100);
  });
});
