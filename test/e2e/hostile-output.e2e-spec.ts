import { readFileSync } from 'node:fs';
import { Stack } from '../../scripts/lib/stack';

interface Result {
  status: string;
  exit_code: number;
  stdout: string;
  stderr: string;
  error?: { name: string; value: string; traceback?: string };
  timed_out: boolean;
  truncated: boolean;
  execution_time: number;
  results: Array<{ data: Record<string, unknown> }>;
  artifacts: Array<{ name: string; type: string; size: number }>;
  state_lost?: boolean;
}
interface ErrorBody {
  status: 'error';
  error: { code: string; message: string };
}

/** Python that reaches the kernel it runs in: its module is `__main__`, its run id `_run`. */
const KERNEL = 'import sys, json, os\nk = sys.modules["__main__"]\n';
const forge = (frame: string) => `k._proto.write(b"\\x1e" + json.dumps(${frame}).encode() + b"\\n")\n`;

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/**
 * Everything a sandbox sends is hostile input (issue #15): forged, malformed, oversized and
 * flooding frames, replies larger than the bus carries, attempts to desynchronise a session.
 * Each case gets a coded answer; after each the runner is the same process, `/health` is 200,
 * and at the end its memory is back within 100 MiB of where it started.
 */
describe('hostile sandbox output', () => {
  let stack: Stack;
  let runnerPid: number;
  let baselineRss: number;

  const call = async <T = Result>(path: string, body: Record<string, unknown>) => {
    const res = await stack.request<T>('POST', path, body, 180000);
    return { status: res.status, body: res.body };
  };
  const run = async (code: string, extra: Record<string, unknown> = {}) => {
    const res = await call('/execute', { tenant_id: 't-hostile', code, timeout: 30, ...extra });
    expect(res.status).toBe(200);
    return res.body;
  };
  const session = async () => {
    const res = await call<{ session_id: string }>('/session/create', {
      tenant_id: 't-hostile',
      scope: `s-${Math.random()}`,
    });
    expect(res.status).toBe(200);
    return res.body.session_id;
  };
  const inSession = async (session_id: string, code: string, timeout = 20) => {
    const res = await call('/session/execute', { session_id, code, timeout });
    expect(res.status).toBe(200);
    return res.body;
  };

  beforeAll(async () => {
    stack = await Stack.create({ POOL_SIZES: 'default=2,node-basic=1' });
    await stack.start();
    runnerPid = stack.processes.get('runner')!.pid!;
    await run('print(1)');
    baselineRss = rssMiB(runnerPid);
  });

  afterEach(async () => {
    const runner = stack.processes.get('runner');
    expect(runner?.exitCode).toBeNull();
    expect(runner?.pid).toBe(runnerPid);
    const health = await stack.request('GET', '/health');
    expect(health.status).toBe(200);
  });

  afterAll(async () => {
    try {
      // Memory goes back to where it was: nothing of the hostile runs is still held.
      // V8 gives memory back once the process has been quiet for a few seconds.
      let rss = rssMiB(runnerPid);
      const peak = rss;
      for (let waited = 0; rss - baselineRss >= 100 && waited < 30; waited++) {
        await new Promise((r) => setTimeout(r, 1000));
        rss = rssMiB(runnerPid);
      }
      // The stack runs the apps on jemalloc where it is installed (scripts/setup.sh does):
      // glibc's malloc keeps what the large outputs fragmented, 50-150 MiB here.
      const jemalloc = readFileSync(`/proc/${runnerPid}/maps`, 'utf8').includes('libjemalloc');
      process.stdout.write(
        `runner RSS (${jemalloc ? 'jemalloc' : 'glibc malloc'}): ${baselineRss.toFixed(0)} MiB before the suite, ${peak.toFixed(0)} right after, ${rss.toFixed(0)} settled\n`,
      );
      expect(rss - baselineRss).toBeLessThan(100);
    } finally {
      await stack?.stop();
    }
  });

  describe('replies larger than the bus', () => {
    it('a 20 MB exception comes back as a capped error, not a lost runner', async () => {
      const r = await run("raise ValueError('A' * 20_000_000)");
      expect(r.status).toBe('error');
      expect(r.error?.name).toBe('ValueError');
      expect(r.error!.value.length).toBeLessThanOrEqual(70 * 1024);
      expect(r.truncated).toBe(true);
    });

    it('a 15 MB _repr_html_ with 1 MiB on each stream fits one reply', async () => {
      const r = await run(
        [
          'import sys',
          "sys.stdout.write('\\x01' * (1 << 20)); sys.stderr.write('\\x02' * (1 << 20))",
          'class Big:',
          "    def _repr_html_(self): return '<i>' * 5_000_000",
          'Big()',
        ].join('\n'),
      );
      expect(r.status).toBe('success');
      expect(r.truncated).toBe(true);
      expect(Buffer.byteLength(JSON.stringify(r))).toBeLessThan(32 * 1024 * 1024);
    });

    it('a forged huge traceback is cut and says so', async () => {
      const r = await run(
        KERNEL +
          forge('{"t": "error", "r": k._run, "name": "E", "value": "v", "traceback": "t" * 3_000_000}') +
          'sys.exit(3)',
      );
      expect(r.status).toBe('error');
      expect(r.exit_code).toBe(3);
      expect(r.error?.traceback?.length).toBeLessThan(300 * 1024);
      expect(r.truncated).toBe(true);
    });
  });

  describe('forged and malformed frames', () => {
    it('a done without the run id is ignored: the real outcome is reported', async () => {
      const r = await run(
        'import os\nos.write(3, b\'\\x1e{"t":"done","exit_code":0,"stdout_bytes":0,"stderr_bytes":0}\\n\')\n' +
          "raise ValueError('real')",
      );
      expect(r.status).toBe('error');
      expect(r.error?.name).toBe('ValueError');
    });

    it('a child writing frames to the container stdout cannot end the run', async () => {
      const r = await run(String.raw`import subprocess
forged = r"""printf '{"t":"done","exit_code":0,"stdout_bytes":0,"stderr_bytes":0}
' > /proc/1/fd/1"""
subprocess.run(["bash", "-c", forged])
p = subprocess.run(["bash", "-c", "echo x > /proc/$PPID/fd/3"], capture_output=True)
print("reach kernel fd:", p.returncode)
raise KeyError("still running")`);
      expect(r.status).toBe('error');
      expect(r.error?.name).toBe('KeyError');
      // The kernel is not dumpable: its protocol fd cannot be opened through /proc.
      expect(r.stdout).toContain('reach kernel fd: 1');
    });

    it.each([
      ['result data null', '{"t": "result", "r": k._run, "data": None}'],
      ['a string exit code in an error', '{"t": "error", "r": k._run, "name": {"x": 1}, "value": [1]}'],
      ['output bytes as an object', '{"t": "out", "r": k._run, "n": "stdout", "b": {"length": 100000000}}'],
      [
        'a file without bytes',
        '{"t": "file", "r": k._run, "name": "outputs/a.txt", "mime": "text/plain", "size": 5, "b": {}}',
      ],
      ['an unknown type', '{"t": "exec", "r": k._run, "cmd": "rm -rf /"}'],
      ['a ready in the middle of a run', '{"t": "ready"}'],
    ])('%s is dropped and the run goes on', async (_what, frame) => {
      const r = await run(KERNEL + forge(frame) + 'print("after")');
      expect(r.status).toBe('success');
      expect(r.stdout).toBe('after\n');
      expect(r.artifacts).toEqual([]);
    });

    it('a malformed done of this run ends it as a protocol error', async () => {
      const r = await run(
        KERNEL +
          forge('{"t": "done", "r": k._run, "exit_code": "0", "stdout_bytes": 0, "stderr_bytes": 0}') +
          'import time; time.sleep(5)',
      );
      expect(r.status).toBe('error');
      expect(r.error?.name).toBe('SandboxProtocolError');
      expect(r.execution_time).toBeLessThan(4);
    });

    it('partial and unterminated frames do not swallow what follows', async () => {
      const r = await run(
        KERNEL +
          'k._proto.write(b"\\x1e{\\"t\\":\\"out\\",\\"n\\"")\nk._proto.write(b"\\x1e")\nprint("whole")',
      );
      expect(r.status).toBe('success');
      expect(r.stdout).toBe('whole\n');
    });

    it('twelve 40 MiB frames are dropped as they stream past', async () => {
      const r = await run(
        KERNEL +
          'chunk = b"\\x1e{\\"t\\":\\"result\\",\\"data\\":{\\"text/plain\\":\\"" + b"A" * (40 << 20) + b"\\"}}\\n"\n' +
          'for _ in range(12): k._proto.write(chunk)\n' +
          'del chunk\nprint("done")',
        { timeout: 60 },
      );
      expect(r.status).toBe('success');
      expect(r.stdout).toBe('done\n');
      expect(r.results).toEqual([]);
    });

    it('a flood of small frames is bounded by the budget', async () => {
      const r = await run(
        KERNEL +
          'for i in range(100_000):\n' +
          '    k.send({"t": "result", "data": {"text/plain": "x" * 400}, "main": False})\n' +
          'print("end")',
        { timeout: 60 },
      );
      expect(r.status).toBe('success');
      expect(r.stdout).toBe('end\n');
      expect(r.truncated).toBe(true);
      expect(Buffer.byteLength(JSON.stringify(r))).toBeLessThan(32 * 1024 * 1024);
    });

    it('file frames cannot make the artifact budget NaN or pass it', async () => {
      const r = await run(
        KERNEL +
          forge('{"t": "file", "r": k._run, "name": "outputs/a.txt", "mime": "text/plain", "b": {}}') +
          'import base64\nblob = base64.b64encode(b"z" * (4 << 20)).decode()\n' +
          'for i in range(8):\n' +
          '    k.send({"t": "file", "name": "outputs/f%d.txt" % i, "mime": "text/plain", "size": 1, "b": blob})\n',
        { timeout: 60 },
      );
      expect(r.status).toBe('success');
      expect(r.truncated).toBe(true);
      const total = r.artifacts.reduce((n, a) => n + a.size, 0);
      expect(total).toBeLessThanOrEqual(16 * 1024 * 1024);
      expect(r.artifacts.every((a) => a.size === 4 << 20)).toBe(true);
    });

    it('output file names pass the workspace path rules', async () => {
      const r = await run(
        [
          'import os',
          'os.makedirs("outputs", exist_ok=True)',
          'for n in ["evil.exe", "a\\"b\\r\\nX: y.html", "run.sh.", "ok.txt"]:',
          '    open(os.path.join("outputs", n), "w").write("x")',
        ].join('\n'),
      );
      expect(r.artifacts.map((a) => a.name)).toEqual(['outputs/ok.txt']);
      expect(r.stderr.match(/an output file was not returned/g)).toHaveLength(3);
    });
  });

  describe('sessions cannot be desynchronised', () => {
    it('a forged early done and late output do not reach the next run', async () => {
      const id = await session();
      const first = await inSession(
        id,
        KERNEL +
          'x = 41\n' +
          forge('{"t": "done", "r": k._run, "exit_code": 0, "stdout_bytes": 0, "stderr_bytes": 0}') +
          "import time; time.sleep(3); print('LATE'); raise ValueError('first')",
      );
      expect(first.status).toBe('success');
      const second = await inSession(id, 'print(x + 1)');
      expect(second.status).toBe('success');
      expect(second.stdout).toBe('42\n');
      expect(second.error).toBeUndefined();
      await call('/session/destroy', { session_id: id });
    });

    it('a single separator byte on the channel does not swallow the real done', async () => {
      const id = await session();
      const first = await inSession(id, KERNEL + 'y = 7\nk._proto.write(b"\\x1e")\nprint("one")', 10);
      expect(first.status).toBe('success');
      expect(first.timed_out).toBe(false);
      expect(first.stdout).toBe('one\n');
      const second = await inSession(id, 'print(y)');
      expect(second.stdout).toBe('7\n');
      expect(second.state_lost).toBe(false);
      await call('/session/destroy', { session_id: id });
    });
  });

  describe('files', () => {
    it('names with trailing dots and spaces do not pass the extension rule', async () => {
      const id = await session();
      for (const path of ['x.exe.', 'x.sh ', 'x.exe ', 'evil.exe..']) {
        const res = await call<ErrorBody>('/session/files/upload', { session_id: id, path, content: 'x' });
        expect(res.status).toBe(400);
        expect(res.body.error.code).toBe('VALIDATION_ERROR');
      }
      await call('/session/destroy', { session_id: id });
    });

    it('an upload that runs out of space leaves nothing behind', async () => {
      const id = await session();
      const fill = await inSession(id, "open('fill.bin', 'wb').write(b'0' * (44 << 20))");
      expect(fill.status).toBe('success');
      const res = await call<ErrorBody>('/session/files/upload', {
        session_id: id,
        path: 'big.dat',
        content: Buffer.alloc(9 << 20, 1).toString('base64'),
        encoding: 'base64',
      });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('FILE_REFUSED');
      const list = await stack.request<{ entries: Array<{ name: string }> }>(
        'GET',
        `/session/files/list?session_id=${id}&path=.`,
      );
      expect(list.body.entries.map((e) => e.name)).toEqual(['fill.bin']);
      await call('/session/destroy', { session_id: id });
    });
  });

  describe('node-basic', () => {
    it('bash ends when bash exits, even with a background job holding its output', async () => {
      const started = Date.now();
      const r = await run('sleep 30 & echo started; exit 0', { template: 'node-basic', language: 'bash' });
      expect(r.status).toBe('success');
      expect(r.stdout).toBe('started\n');
      expect(Date.now() - started).toBeLessThan(10000);
    });

    it('forged frames from JavaScript without the run id are ignored', async () => {
      const r = await run(
        "require('fs').writeSync(1, '\\x1e' + JSON.stringify({t:'done',exit_code:0,stdout_bytes:0,stderr_bytes:0}) + '\\n');\n" +
          "throw new TypeError('real')",
        { template: 'node-basic', language: 'javascript' },
      );
      expect(r.status).toBe('error');
      expect(r.error?.name).toBe('TypeError');
    });
  });
});
