import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { crc32, inflateSync } from 'node:zlib';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { ROOT, Stack, waitFor } from '../../scripts/lib/stack';
import { stackInfo } from './client';

/**
 * The little of the DOM that the functions given to page.evaluate and waitForFunction use (they
 * run in the browser; this program is type-checked with Node's types, not the DOM's).
 */
interface El {
  textContent: string | null;
  dataset: Record<string, string | undefined>;
  getAttribute(name: string): string | null;
  src: string;
  naturalWidth: number;
  srcdoc: string;
}
declare const document: {
  title: string;
  documentElement: { scrollWidth: number; clientWidth: number };
  querySelector(selector: string): El | null;
  querySelectorAll(selector: string): ArrayLike<El>;
};

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = join(ROOT, 'test-output', 'console');
const haveBrowser = existsSync(CHROMIUM);
if (!haveBrowser) {
  console.warn(
    `\n*** ${CHROMIUM} is missing: the console's browser tests are SKIPPED (apt-get install chromium) ***\n`,
  );
}
const inBrowser = haveBrowser ? it : it.skip;

const KEYS = { t1: 'console-key-t1', t2: 'console-key-t2', admin: 'console-key-admin' };

interface Envelope {
  position: number;
  type: string;
  stream_id: string;
  tenant_id: string | null;
  data: Record<string, unknown>;
}

/** A reader of GET /events/stream as any HTTP client would be: fetch, SSE parsed by line. */
class SseClient {
  readonly events: Envelope[] = [];
  readonly ids: string[] = [];
  readonly comments: string[] = [];
  status = 0;
  private readonly abort = new AbortController();
  private readonly done: Promise<void>;

  constructor(url: string, headers: Record<string, string>) {
    this.done = this.read(url, headers).catch(() => undefined);
  }

  private async read(url: string, headers: Record<string, string>): Promise<void> {
    const res = await fetch(url, {
      headers: { accept: 'text/event-stream', ...headers },
      signal: this.abort.signal,
    });
    this.status = res.status;
    if (!res.ok || !res.body) return;
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    let data: string[] = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line === '') {
          if (data.length) this.events.push(JSON.parse(data.join('\n')) as Envelope);
          data = [];
        } else if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
        else if (line.startsWith('data: ')) data.push(line.slice(6));
        else if (line.startsWith('id: ')) this.ids.push(line.slice(4));
      }
    }
  }

  async until(check: (c: SseClient) => boolean, what: string, timeoutMs = 15000): Promise<void> {
    await waitFor(() => Promise.resolve(check(this)), timeoutMs, what);
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.done;
  }
}

/** Checks a PNG the way a decoder would: signature, every chunk's CRC, IHDR, and the inflated pixels' size. */
function parsePng(png: Buffer): { width: number; height: number } {
  expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  let at = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  for (;;) {
    const length = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    const body = png.subarray(at + 8, at + 8 + length);
    expect(png.readUInt32BE(at + 8 + length)).toBe(crc32(png.subarray(at + 4, at + 8 + length)));
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      expect(body[8]).toBe(8); // bit depth
      channels = { 0: 1, 2: 3, 4: 2, 6: 4 }[body[9]] ?? 0;
      expect(channels).toBeGreaterThan(0);
    } else if (type === 'IDAT') idat.push(body);
    at += 12 + length;
    if (type === 'IEND') break;
  }
  expect(inflateSync(Buffer.concat(idat)).length).toBe(height * (1 + width * channels));
  return { width, height };
}

describe('web console and GET /events/stream', () => {
  let stack: Stack;
  let api: string;
  let browser: Browser | undefined;
  let page: Page;
  let dialogs: string[] = [];

  const as = (key: string) => ({ authorization: `Bearer ${key}` });
  const execute = async (key: string, code = 'print(1)') => {
    const res = await fetch(`${api}/execute`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...as(key) },
      body: JSON.stringify({ code, language: 'python', ...(key === KEYS.admin ? { tenant_id: 'ops' } : {}) }),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as { execution_id?: string; status: string };
  };
  const stream = (query: string, key: string, headers: Record<string, string> = {}) =>
    new SseClient(`${api}/events/stream${query}`, { ...as(key), ...headers });
  const storePositions = async () => {
    const res = await fetch(`${api}/admin/events?limit=1000&order=asc`, { headers: as(KEYS.admin) });
    return ((await res.json()) as { events: Envelope[] }).events.map((e) => e.position);
  };

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    stack = await Stack.create({
      EXECUTOR_API_KEYS: `t1:tenant:${KEYS.t1},t2:tenant:${KEYS.t2},ops:admin:${KEYS.admin}`,
      EVENT_STREAM_HEARTBEAT_MS: '500',
      POOL_SIZES: 'default=2,python-data=1',
    });
    api = stack.info.apiUrl;
    const launched = haveBrowser
      ? puppeteer.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--headless=new'] })
      : Promise.resolve(undefined);
    try {
      await stack.start();
      browser = await launched;
    } catch (err) {
      await stack.stop();
      throw err;
    }
    if (browser) {
      page = await browser.newPage();
      await page.setViewport({ width: 1280, height: 900 });
      // Confirmations (delete, destroy) are accepted; any other dialog is recorded and dismissed.
      page.on('dialog', (d) => {
        if (d.type() === 'confirm') void d.accept();
        else {
          dialogs.push(d.message());
          void d.dismiss();
        }
      });
    }
  }, 90000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  describe('GET /events/stream', () => {
    it('shows a tenant key its own tenant only, an admin key every tenant', async () => {
      const t1 = stream('', KEYS.t1);
      const admin = stream('', KEYS.admin);
      await t1.until((c) => c.status === 200, 'the t1 stream');
      await admin.until((c) => c.status === 200, 'the admin stream');
      await execute(KEYS.t2);
      const mine = await execute(KEYS.t1);
      await t1.until((c) => c.events.some((e) => e.type === 'ExecutionFinished'), 't1 to see its run end');
      await admin.until(
        (c) => new Set(c.events.map((e) => e.tenant_id)).has('t2') && c.events.length >= 4,
        'the admin to see both runs',
      );
      expect(new Set(t1.events.map((e) => e.tenant_id))).toEqual(new Set(['t1']));
      expect(t1.events.map((e) => e.stream_id)).toContain(`execution-${mine.execution_id}`);
      await Promise.all([t1.close(), admin.close()]);

      // Another tenant's events are refused, not silently emptied.
      const foreign = await fetch(`${api}/events/stream?tenant=t2`, { headers: as(KEYS.t1) });
      expect(foreign.status).toBe(403);
      expect(await foreign.json()).toMatchObject({ error: { code: 'FORBIDDEN' } });
      expect((await fetch(`${api}/events/stream`)).status).toBe(401);
    });

    it('resumes after Last-Event-ID with no gap and no repeat', async () => {
      const first = stream('?after=0', KEYS.admin);
      await execute(KEYS.t1);
      await first.until((c) => c.events.some((e) => e.type === 'ExecutionFinished'), 'the first part');
      await first.close();
      const last = Number(first.ids[first.ids.length - 1]);
      expect(first.ids.map(Number)).toEqual(first.events.map((e) => e.position));
      // Events appended while no one listens.
      await execute(KEYS.t2);
      await execute(KEYS.t1);
      const resumed = stream('', KEYS.admin, { 'last-event-id': String(last) });
      const all = await storePositions();
      await resumed.until(
        (c) => c.events.length > 0 && c.events[c.events.length - 1].position >= all[all.length - 1],
        'the resumed stream to reach the head',
      );
      await execute(KEYS.t1); // and live ones after the catch-up
      const head = (await storePositions()).at(-1) ?? 0;
      await resumed.until((c) => (c.events.at(-1)?.position ?? 0) >= head, 'the live events after resuming');
      await resumed.close();
      const seen = [...first.events, ...resumed.events].map((e) => e.position).filter((p) => p <= head);
      expect(seen).toEqual((await storePositions()).filter((p) => p <= head));
      expect(new Set(seen).size).toBe(seen.length);
    });

    it('filters by type and stream, keeps the connection alive, and refuses bad input with a code', async () => {
      const finished = stream('?after=0&type=ExecutionFinished', KEYS.admin);
      const run = await execute(KEYS.t1);
      const one = stream(`?after=0&stream=execution-${run.execution_id}`, KEYS.t1);
      await finished.until((c) => c.events.length >= 3, 'the finished runs');
      await one.until((c) => c.events.length >= 2, 'the one run');
      await finished.until((c) => c.comments.includes('heartbeat'), 'a heartbeat', 5000);
      await Promise.all([finished.close(), one.close()]);
      expect(new Set(finished.events.map((e) => e.type))).toEqual(new Set(['ExecutionFinished']));
      expect(new Set(one.events.map((e) => e.stream_id))).toEqual(new Set([`execution-${run.execution_id}`]));
      expect(one.events.map((e) => e.type)).toEqual(['ExecutionStarted', 'ExecutionFinished']);

      for (const [query, headers] of [
        ['?type=sessioncreated', {}],
        ['?after=-1', {}],
        ['', { 'last-event-id': 'abc' }],
      ] as const) {
        const res = await fetch(`${api}/events/stream${query}`, {
          headers: { ...as(KEYS.admin), ...headers },
        });
        expect({ query, status: res.status }).toEqual({ query, status: 400 });
        expect(await res.json()).toMatchObject({ status: 'error', error: { code: 'VALIDATION_ERROR' } });
      }
    });
  });

  describe('in a browser', () => {
    /** The editor's whole text replaced, as a person pasting it would. */
    const setCode = async (code: string) => {
      await page.click('.cm-content');
      await page.keyboard.down('Control');
      await page.keyboard.press('a');
      await page.keyboard.up('Control');
      await page.keyboard.press('Backspace');
      await page.keyboard.sendCharacter(code);
    };
    /** One element's property, read in the page (null when the element is missing). */
    const read = <K extends 'textContent' | 'src' | 'naturalWidth'>(selector: string, key: K) =>
      page.evaluate(
        (s: string, k: string) => document.querySelector(s)?.[k as K] ?? null,
        selector,
        key,
      ) as Promise<El[K] | null>;
    const text = async (selector: string) => (await read(selector, 'textContent')) ?? '';
    const state = async (selector: string) =>
      page.evaluate((s: string) => document.querySelector(s)?.dataset.state ?? '', selector);
    const run = async (code: string, timeout = 30000) => {
      await setCode(code);
      await page.click('#run');
      await page.waitForFunction(
        () => {
          const s = document.querySelector('#run-status');
          return !!s && s.dataset.state !== 'running' && !!s.textContent && s.textContent !== 'running…';
        },
        { timeout },
      );
      return text('#run-status');
    };
    const shot = async (name: string) =>
      page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

    inBrowser('opens with the key entered once, serves a strict CSP, and runs print(6*7)', async () => {
      const res = await page.goto(`${api}/console/`, { waitUntil: 'domcontentloaded' });
      const csp = res?.headers()['content-security-policy'] ?? '';
      expect(csp).toMatch(/script-src 'self'(;|$)/);
      expect(csp).toContain("frame-ancestors 'none'");
      await page.waitForFunction(
        () => document.querySelector('#who')?.textContent === 'an API key is needed',
      );
      await page.type('#api-key', KEYS.admin);
      await page.click('#save-key');
      await page.waitForFunction(() => document.querySelector('#who')?.textContent === 'admin key');
      await page.waitForSelector('#template option[value="python-data"]');
      expect(await run('print(6*7)')).toMatch(/^success/);
      expect((await text('#stdout')).trim()).toBe('42');
      // Entered once: a reload keeps it (sessionStorage).
      await page.reload({ waitUntil: 'domcontentloaded' });
      await page.waitForFunction(() => document.querySelector('#who')?.textContent === 'admin key');
      await shot('playground-1280');
    });

    inBrowser('draws a matplotlib figure as an image whose source is a real PNG', async () => {
      await page.select('#template', 'python-data');
      const status = await run(
        "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [1, 4, 9])\nplt.title('squares')\nplt.show()\n",
        60000,
      );
      expect(status).toMatch(/^success/);
      const src = (await read('#results img', 'src')) ?? '';
      expect(src.startsWith('data:image/png;base64,')).toBe(true);
      const { width, height } = parsePng(Buffer.from(src.slice('data:image/png;base64,'.length), 'base64'));
      expect(width).toBeGreaterThan(100);
      expect(height).toBeGreaterThan(100);
      // The browser decoded it too.
      expect(await read('#results img', 'naturalWidth')).toBe(width);
      await shot('playground-figure-1280');
    });

    inBrowser('shows what a run printed as text: markup from a sandbox never runs', async () => {
      dialogs = [];
      await page.select('#template', 'python-data');
      // The stack's one warm python-data sandbox went to the figure above: this run may wait for
      // a fresh one (a container and IPython with numpy, pandas and matplotlib preloaded).
      await run(
        "print('<img src=x onerror=alert(1)>')\nfrom IPython.display import HTML, display\ndisplay(HTML('<b>bold</b><img src=x onerror=alert(2)><script>alert(3)</script>'))\n",
        60000,
      );
      expect((await text('#stdout')).trim()).toBe('<img src=x onerror=alert(1)>');
      expect(await page.evaluate(() => document.querySelectorAll('#stdout *').length)).toBe(0);
      const frame = await page.evaluate(() => {
        const f = document.querySelector('#results iframe');
        return { sandbox: f?.getAttribute('sandbox'), srcdoc: f?.srcdoc ?? '' };
      });
      expect(frame.sandbox).toBe('');
      expect(frame.srcdoc).toContain('<b>bold</b>');
      await new Promise((r) => setTimeout(r, 1000));
      expect(dialogs).toEqual([]);
    });

    inBrowser('stops a run with the stop button', async () => {
      await page.select('#template', 'default');
      await setCode("import time\nprint('started', flush=True)\ntime.sleep(60)\n");
      const started = Date.now();
      await page.click('#run');
      await page.waitForFunction(
        () => (document.querySelector('#stdout')?.textContent ?? '').includes('started'),
        {
          timeout: 20000,
        },
      );
      await page.click('#stop');
      await page.waitForFunction(() => document.querySelector('#run-status')?.dataset.state === 'stopped');
      expect(Date.now() - started).toBeLessThan(30000);
      expect(await text('#run-status')).toMatch(/^stopped after/);
    });

    inBrowser('keeps a variable between two runs of a session', async () => {
      await page.select('#template', 'default');
      await page.select('#mode', 'session');
      await page.click('#new-session');
      await page.waitForFunction(() =>
        /^session .* created$/.test(document.querySelector('#run-status')?.textContent ?? ''),
      );
      const session = /^session (\S+) created$/.exec(await text('#run-status'))?.[1];
      expect(await run('x = 41')).toMatch(/^success.*run 1/);
      expect(await run('print(x + 1)')).toMatch(/^success.*run 2/);
      expect((await text('#stdout')).trim()).toBe('42');
      expect(await run("open('hello.txt', 'w').write('hi')")).toMatch(/^success.*run 3/);
      await page.select('#mode', 'oneoff');
      // The Sessions view lists it; opened, it shows the file and its three runs (from the event stream).
      await page.goto(`${api}/console/#/sessions`, { waitUntil: 'domcontentloaded' });
      await page.waitForSelector('#session-list table');
      await page.click('#session-list ::-p-text(Files and runs)');
      await page.waitForFunction(() =>
        (document.querySelector('#session-files')?.textContent ?? '').includes('hello.txt'),
      );
      await page.waitForFunction(() => document.querySelectorAll('#session-runs tr').length === 3);
      await shot('sessions-1280');
      // Upload a file from the browser, see it listed, delete it.
      const upload = join(stack.info.dir, 'upload.csv');
      writeFileSync(upload, 'a,b\n1,2\n');
      const [chooser] = await Promise.all([page.waitForFileChooser(), page.click('#files-upload')]);
      await chooser.accept([upload]);
      await page.click('#files-upload-send');
      await page.waitForSelector('button[aria-label="Delete upload.csv"]');
      await page.click('button[aria-label="Delete upload.csv"]');
      await page.waitForFunction(
        () => !(document.querySelector('#session-files')?.textContent ?? '').includes('upload.csv'),
      );
      expect(await text('#session-files')).toContain('hello.txt');
      const listed = await fetch(`${api}/session/files/list?session_id=${session}&tenant_id=console`, {
        headers: as(KEYS.admin),
      });
      const names = ((await listed.json()) as { entries: Array<{ name: string }> }).entries.map(
        (e) => e.name,
      );
      expect(names).toEqual(['hello.txt']);
    });

    inBrowser('sees a new event arrive in the live stream', async () => {
      await page.goto(`${api}/console/#/events`, { waitUntil: 'domcontentloaded' });
      await page.waitForFunction(() => document.querySelector('#live-status')?.textContent === '(live)');
      const run = await execute(KEYS.t2, 'print(2)');
      await page.waitForFunction(
        (id: string) =>
          Array.from(document.querySelectorAll('#live-events li')).some((li) =>
            li.textContent?.includes(`execution-${id}`),
          ),
        { timeout: 15000 },
        String(run.execution_id),
      );
      // The admin query of the store, newest first.
      await page.click('::-p-text(Search)');
      await page.waitForFunction(
        (id: string) =>
          (document.querySelector('#admin-page')?.textContent ?? '').includes(`execution-${id}`),
        {},
        String(run.execution_id),
      );
      await shot('events-1280');
    });

    inBrowser("watches a custom template's build log grow", async () => {
      const name = `slow-${randomUUID().slice(0, 6)}`;
      await page.goto(`${api}/console/#/templates`, { waitUntil: 'domcontentloaded' });
      await page.waitForSelector('#tpl-base option[value="minimal"]');
      await page.type('#tpl-name', name);
      await page.select('#tpl-base', 'minimal');
      // Its own commands (the image is named by a hash of them: an identical set would not build again).
      await page.type(
        '#tpl-setup',
        `echo ${name}; for i in 1 2 3 4 5 6 7 8; do echo "step $i"; sleep 1; done`,
      );
      await page.click('#tpl-register');
      const counts: number[] = [];
      await waitFor(
        async () => {
          // One read of both: the page appends the tick's lines and sets the status in one task,
          // and two reads could see the log before that task and the status after it.
          const { log, now } = await page.evaluate(() => ({
            log: document.querySelector('#build-log')?.textContent ?? '',
            now: document.querySelector('#build-status')?.dataset.state ?? '',
          }));
          counts.push((log.match(/^step \d$/gm) ?? []).length);
          return now === 'ready' || now === 'failed';
        },
        120000,
        'the build to end',
      );
      expect(await state('#build-status')).toBe('ready');
      // Seen while it ran: the log grew through at least three sizes before the last line.
      const sizes = [...new Set(counts)].filter((n) => n > 0 && n < 8);
      expect(sizes.length).toBeGreaterThanOrEqual(3);
      expect(counts[counts.length - 1]).toBe(8);
      await shot('templates-1280');
      await fetch(`${api}/templates/${name}`, { method: 'DELETE', headers: as(KEYS.admin) });
    });

    inBrowser('charts the metrics, and every view fits 390 px without horizontal scroll', async () => {
      await page.goto(`${api}/console/#/metrics`, { waitUntil: 'domcontentloaded' });
      await page.waitForFunction(() => document.querySelectorAll('.charts .uplot').length === 5);
      await page.waitForFunction(() => Number(document.querySelector('.charts')?.dataset.points) >= 3, {
        timeout: 15000,
      });
      // Every run of this spec so far is counted.
      const runs = Number(await text('#metric-numbers td'));
      expect(runs).toBeGreaterThanOrEqual(10);
      await shot('metrics-1280');
      await page.setViewport({ width: 390, height: 844 });
      for (const view of ['playground', 'sessions', 'templates', 'events', 'metrics']) {
        await page.goto(`${api}/console/#/${view}`, { waitUntil: 'domcontentloaded' });
        await page.waitForFunction(
          (v: string) => document.title.startsWith(v),
          {},
          view[0].toUpperCase() + view.slice(1),
        );
        await new Promise((r) => setTimeout(r, 500));
        const { scroll, client } = await page.evaluate(() => ({
          scroll: document.documentElement.scrollWidth,
          client: document.documentElement.clientWidth,
        }));
        expect({ view, scroll: scroll <= client }).toEqual({ view, scroll: true });
        await shot(`${view}-390`);
      }
      await page.setViewport({ width: 1280, height: 900 });
    });

    inBrowser('works without keys on loopback', async () => {
      const open = await browser!.newPage();
      try {
        await open.goto(`${stackInfo().apiUrl}/console/`, { waitUntil: 'domcontentloaded' });
        await open.waitForFunction(
          () => document.querySelector('#who')?.textContent === 'no keys (loopback)',
        );
        await open.waitForSelector('#template option[value="default"]');
        await open.click('.cm-content');
        await open.keyboard.down('Control');
        await open.keyboard.press('a');
        await open.keyboard.up('Control');
        await open.keyboard.sendCharacter('print(6*7)');
        await open.click('#run');
        await open.waitForFunction(() => document.querySelector('#stdout')?.textContent?.trim() === '42', {
          timeout: 30000,
        });
      } finally {
        await open.close();
      }
    });
  });
});
