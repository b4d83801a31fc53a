import { post, stackInfo } from './client';
import { waitForGauge } from './support/gauges';

interface Run {
  status: string;
  exit_code: number;
  stdout: string;
  stderr: string;
  error?: { name: string; value: string };
  results: Array<{ data: Record<string, unknown>; is_main_result: boolean; execution_count?: number }>;
  state_lost?: boolean;
  execution_count?: number;
}
interface ErrorBody {
  error: { code: string; message: string };
}

const tenant = 't-fidelity';

async function createSession(extra: Record<string, unknown> = {}): Promise<string> {
  const res = await post<{ session_id: string }>('/session/create', {
    tenant_id: tenant,
    scope: `fidelity-${Math.random()}`,
    reuse: false,
    ...extra,
  });
  expect(res.status).toBe(200);
  return res.body.session_id;
}

async function inSession(
  session_id: string,
  code: string,
  extra: Record<string, unknown> = {},
): Promise<Run> {
  const res = await post<Run>('/session/execute', { session_id, tenant_id: tenant, code, ...extra });
  expect(res.status).toBe(200);
  return res.body;
}

const mainText = (r: Run) => r.results.find((x) => x.is_main_result)?.data['text/plain'];

/**
 * Behaviour the peers' own test suites expect (issue #17), each case naming the test it ports:
 * e2b-dev/code-interpreter (python/tests, js/tests), vndee/llm-sandbox, engineer-man/piston.
 */
describe('interpreter fidelity', () => {
  describe('killing a session during a run', () => {
    // e2b-dev/code-interpreter python/tests/sync/test_kill.py test_kill (kill during a long run)
    it('destroy interrupts the run at once and answers within a second', async () => {
      const id = await createSession();
      const running = post<ErrorBody>('/session/execute', {
        session_id: id,
        tenant_id: tenant,
        code: 'import time\ntime.sleep(120)',
        timeout: 150,
      });
      // Destroyed once the runner runs it: a destroy that reached the runner before the run did
      // would find no sandbox for it (the run's answer: the session was lost), not interrupt it.
      await waitForGauge(
        stackInfo().apiUrl,
        'executor_runner_running',
        { runner_id: stackInfo().runnerId },
        (n) => n >= 1,
        30000,
        'the runner to run the session call',
      );
      const started = Date.now();
      const destroyed = await post('/session/destroy', { session_id: id, tenant_id: tenant });
      expect(destroyed.status).toBe(200);
      expect(Date.now() - started).toBeLessThan(1500);
      const run = await running;
      expect(Date.now() - started).toBeLessThan(5000);
      expect(run.status).toBe(410);
      expect(run.body.error.code).toBe('SESSION_DESTROYED');
      const after = await post<ErrorBody>('/session/execute', {
        session_id: id,
        tenant_id: tenant,
        code: '1',
      });
      expect(after.status).toBe(410);
    });
  });

  describe('an absolute lifetime', () => {
    // e2b-dev/E2B packages/js-sdk/tests/sandbox/timeout.test.ts (the sandbox ends at its timeout)
    it('ends the session at its deadline even during a run', async () => {
      const res = await post<{ session_id: string; deadline_at: string; expires_at: string }>(
        '/session/create',
        {
          tenant_id: tenant,
          scope: `lifetime-${Math.random()}`,
          lifetime: 3,
          ttl: 600,
        },
      );
      expect(res.status).toBe(200);
      expect(res.body.expires_at).toBe(res.body.deadline_at);
      const id = res.body.session_id;
      const started = Date.now();
      const run = await post<ErrorBody>('/session/execute', {
        session_id: id,
        tenant_id: tenant,
        code: 'import time\ntime.sleep(60)',
        timeout: 90,
      });
      expect(run.status).toBe(410);
      expect(run.body.error.code).toBe('SESSION_EXPIRED');
      expect(Date.now() - started).toBeLessThan(8000);
      const view = await fetch(`${stackInfo().apiUrl}/session/${id}?tenant_id=${tenant}`);
      expect(((await view.json()) as { session: { state: string } }).session.state).toBe('expired');
    });
  });

  describe('bad input to the new fields', () => {
    it.each([
      ['/session/create', { scope: 'x', lifetime: 0 }],
      ['/session/create', { scope: 'x', lifetime: 10 ** 9 }],
      ['/session/create', { scope: 'x', env: { 'BAD NAME': 'v' } }],
      ['/execute', { code: 'print(1)', stdin: 42 }],
      ['/execute', { code: 'print(1)', stdin: 'x'.repeat(1024 * 1024 + 1) }],
      ['/execute', { code: 'print(1)', env: { X: 1 } }],
    ])('%s %j is a coded 400', async (path, body) => {
      const res = await post<ErrorBody>(path, { tenant_id: tenant, ...body });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_ERROR');
    });
  });

  describe('the Node kernel', () => {
    const js = (_code: string) => ({ language: 'javascript' });
    let id: string;
    beforeAll(async () => {
      id = await createSession({ template: 'node-basic' });
    });
    afterAll(async () => {
      await post('/session/destroy', { session_id: id, tenant_id: tenant });
    });

    // e2b-dev/code-interpreter js/tests/languages/javascript.test.ts "js ESM imports"
    it('runs an ES module import', async () => {
      const r = await inSession(id, "import { readFileSync } from 'fs'\ntypeof readFileSync", js(''));
      expect(r.status).toBe('success');
      expect(mainText(r)).toBe("'function'");
    });

    // e2b-dev/code-interpreter js/tests/languages/javascript.test.ts "js top level await"
    it('returns the value of a top-level await', async () => {
      const r = await inSession(id, "await Promise.resolve('Hello World!')", js(''));
      expect(mainText(r)).toBe("'Hello World!'");
    });

    // e2b-dev/code-interpreter js/tests/statefulness.test.ts "test stateful" (with await)
    it('keeps const declared with await across cells', async () => {
      await inSession(id, 'const x = await Promise.resolve(41)', js(''));
      const r = await inSession(id, 'x + 1', js(''));
      expect(r.status).toBe('success');
      expect(mainText(r)).toBe('42');
    });

    // E2B docs, "Run JavaScript and TypeScript code": language typescript or ts, with types,
    // top-level await and ESM imports, state kept across cells.
    it('runs TypeScript: types stripped, imports and await kept, state shared with JavaScript', async () => {
      const first = await inSession(
        id,
        "import { basename } from 'path'\ninterface Point { x: number }\nconst p: Point = { x: await Promise.resolve(20) }\np.x + 1",
        { language: 'typescript' },
      );
      expect(first.status).toBe('success');
      expect(mainText(first)).toBe('21');
      const second = await inSession(id, "const n: number = p.x * 2 + 2\nbasename('/a/b.ts') + ' ' + n", {
        language: 'ts',
      });
      expect(mainText(second)).toBe("'b.ts 42'");
      expect(mainText(await inSession(id, 'n / 2', js('')))).toBe('21');
    });

    it('a TypeScript syntax error is a SyntaxError naming the line', async () => {
      const r = await inSession(id, 'const y: = 3', { language: 'typescript' });
      expect(r.status).toBe('error');
      expect(r.error?.name).toBe('SyntaxError');
      expect(r.error?.value).toMatch(/\(1:\d+\)/);
    });

    // e2b-dev/code-interpreter python/tests/languages/test_js.py (language "js")
    it('takes js as the name of javascript', async () => {
      const r = await inSession(id, 'class A { f() { return 6 * 7 } }\nnew A().f()', { language: 'js' });
      expect(mainText(r)).toBe('42');
    });
  });

  describe('contexts', () => {
    interface Ctx {
      id: string;
      language: string;
      cwd: string;
      default: boolean;
    }
    let id: string;
    const ctxCall = <T>(path: string, body: Record<string, unknown>) =>
      post<T & ErrorBody>(`/session/contexts/${path}`, { session_id: id, tenant_id: tenant, ...body });
    const list = async () => {
      const res = await fetch(
        `${stackInfo().apiUrl}/session/contexts/list?session_id=${id}&tenant_id=${tenant}`,
      );
      expect(res.status).toBe(200);
      return ((await res.json()) as { contexts: Ctx[] }).contexts;
    };
    beforeAll(async () => {
      id = await createSession({ template: 'code-interpreter' });
    });
    afterAll(async () => {
      await post('/session/destroy', { session_id: id, tenant_id: tenant });
    });

    // e2b-dev/code-interpreter python/tests/sync/test_contexts.py test_create_context_with_no_options,
    // test_create_context_with_options (language, cwd), test_list_contexts
    it('runs Python and JavaScript side by side, each with its own state, sharing /workspace', async () => {
      const py = await ctxCall<{ context: Ctx }>('create', { language: 'python', cwd: '/workspace/pyhome' });
      expect(py.status).toBe(200);
      expect(py.body.context).toMatchObject({ language: 'python', cwd: '/workspace/pyhome', default: false });
      const js = await ctxCall<{ context: Ctx }>('create', { language: 'js' });
      expect(js.body.context.language).toBe('javascript');

      const a = await inSession(
        id,
        "import os\nshared = 'py'\nopen('/workspace/from-py.txt','w').write('hi')\nos.getcwd()",
        {
          context_id: py.body.context.id,
        },
      );
      expect(mainText(a)).toBe("'/workspace/pyhome'");
      const b = await inSession(
        id,
        "const fs = require('fs'); let mine = 7; fs.readFileSync('/workspace/from-py.txt', 'utf8')",
        {
          context_id: js.body.context.id,
        },
      );
      expect(mainText(b)).toBe("'hi'");
      // The first context has its own variables: `shared` is not there.
      const main = await inSession(id, "'shared' in globals()");
      expect(mainText(main)).toBe('False');
      expect(mainText(await inSession(id, 'shared', { context_id: py.body.context.id }))).toBe("'py'");
      expect(mainText(await inSession(id, 'mine * 6', { context_id: js.body.context.id }))).toBe('42');
      const ids = (await list()).map((c) => c.id);
      expect(ids).toEqual(expect.arrayContaining([py.body.context.id, js.body.context.id]));
    });

    // e2b-dev/code-interpreter python/tests/sync/test_default_context.py (a language without a context)
    it('a run in a language without a context goes to its default context, kept across runs', async () => {
      await inSession(id, 'const seen = 1', { language: 'javascript' });
      const r = await inSession(id, 'seen + 1', { language: 'javascript' });
      expect(mainText(r)).toBe('2');
      expect((await list()).filter((c) => c.default && c.language === 'javascript')).toHaveLength(1);
    });

    // e2b-dev/code-interpreter python/tests/sync/test_contexts.py test_restart_context, test_remove_context
    it('restart keeps the id and empties the context; remove ends it; the first one stays', async () => {
      const created = await ctxCall<{ context: Ctx }>('create', { language: 'javascript' });
      const ctx = created.body.context.id;
      await inSession(id, 'globalThis.kept = 5', { context_id: ctx });
      const restarted = await ctxCall<{ context: Ctx }>('restart', { context_id: ctx });
      expect(restarted.status).toBe(200);
      expect(restarted.body.context.id).toBe(ctx);
      expect(mainText(await inSession(id, 'typeof kept', { context_id: ctx }))).toBe("'undefined'");

      const mainCtx = (await list()).find((c) => c.language === 'python' && c.default)!;
      await inSession(id, 'gone = 1');
      expect((await ctxCall('restart', { context_id: mainCtx.id })).status).toBe(200);
      expect(mainText(await inSession(id, "'gone' in globals()"))).toBe('False');

      expect((await ctxCall('delete', { context_id: ctx })).status).toBe(200);
      const after = await post<ErrorBody>('/session/execute', {
        session_id: id,
        tenant_id: tenant,
        context_id: ctx,
        code: '1',
      });
      expect(after.status).toBe(404);
      expect(after.body.error.code).toBe('NOT_FOUND');
      expect((await list()).map((c) => c.id)).not.toContain(ctx);
      const refused = await ctxCall('delete', { context_id: mainCtx.id });
      expect(refused.status).toBe(400);
      expect(refused.body.error.code).toBe('VALIDATION_ERROR');
    });

    it('bad context input is a coded 400; another tenant sees no contexts', async () => {
      for (const [path, body] of [
        ['create', { cwd: '/etc' }],
        ['create', { cwd: '../outside' }],
        ['create', { language: 'Not A Language' }],
        ['restart', { context_id: 'not-a-uuid' }],
        ['delete', {}],
      ] as const) {
        const res = await ctxCall(path, body);
        expect(res.status).toBe(400);
        expect(res.body.error.code).toBe('VALIDATION_ERROR');
      }
      const bad = await post<ErrorBody>('/session/execute', {
        session_id: id,
        tenant_id: tenant,
        context_id: 'nope',
        code: '1',
      });
      expect(bad.status).toBe(400);
      const foreign = await fetch(
        `${stackInfo().apiUrl}/session/contexts/list?session_id=${id}&tenant_id=someone-else`,
      );
      expect(foreign.status).toBe(404);
      expect(((await foreign.json()) as ErrorBody).error.code).toBe('SESSION_NOT_FOUND');
      const unknown = await ctxCall('restart', { context_id: '5b0e1c1e-2f7a-4a43-9d3b-8d5f0f3c2a11' });
      expect(unknown.status).toBe(404);
      expect(unknown.body.error.code).toBe('NOT_FOUND');
    });

    it('a context of another tenant, or of a language the template lacks, is refused with a code', async () => {
      const other = await post<ErrorBody>('/session/contexts/create', {
        session_id: id,
        tenant_id: 'someone-else',
      });
      expect(other.status).toBe(404);
      const plain = await createSession();
      const res = await post<ErrorBody>('/session/contexts/create', {
        session_id: plain,
        tenant_id: tenant,
        language: 'javascript',
      });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('UNSUPPORTED_LANGUAGE');
      await post('/session/destroy', { session_id: plain, tenant_id: tenant });
    });

    it('a one-off JavaScript run in the code-interpreter template runs in a context of its own', async () => {
      const res = await post<Run>('/execute', {
        tenant_id: tenant,
        template: 'code-interpreter',
        language: 'js',
        code: 'await Promise.resolve(6 * 7)',
      });
      expect(res.status).toBe(200);
      expect(mainText(res.body)).toBe('42');
    });
  });

  describe('environment variables', () => {
    // e2b-dev/code-interpreter python/tests/env_vars/test_env_vars.py test_env_vars_on_sandbox,
    // test_env_vars_per_execution, test_env_vars_overwrite
    it('a session has its own, a run overrides them for itself only', async () => {
      const id = await createSession({ env: { GREETING: 'session', ONLY_SESSION: 'yes' } });
      const read =
        "import os\nprint(os.environ.get('GREETING'), os.environ.get('ONLY_SESSION'), os.environ.get('RUN_ONLY'))";
      expect((await inSession(id, read)).stdout).toBe('session yes None\n');
      const over = await inSession(id, read, { env: { GREETING: 'run', RUN_ONLY: '1' } });
      expect(over.stdout).toBe('run yes 1\n');
      expect((await inSession(id, read)).stdout).toBe('session yes None\n');
      const bash = await inSession(id, 'echo "$GREETING"', {
        language: 'bash',
        env: { GREETING: 'bash-run' },
      });
      expect(bash.stdout).toBe('bash-run\n');
      await post('/session/destroy', { session_id: id, tenant_id: tenant });
    });

    it('env is not recorded in any event', async () => {
      const id = await createSession({ env: { SECRET_TOKEN: 'hunter2-not-in-events' } });
      const events = await fetch(`${stackInfo().apiUrl}/admin/events?stream=session-${id}`);
      expect(events.status).toBe(200);
      const text = await events.text();
      expect(text).toContain('SessionCreated');
      expect(text).not.toContain('hunter2-not-in-events');
      await post('/session/destroy', { session_id: id, tenant_id: tenant });
    });
  });

  describe('execution count and state', () => {
    // e2b-dev/code-interpreter python/tests/test_execution_count.py test_execution_count
    it('every run of a session carries its execution count', async () => {
      const id = await createSession();
      expect((await inSession(id, 'x = 1')).execution_count).toBe(1);
      expect((await inSession(id, 'x += 1')).execution_count).toBe(2);
      const third = await inSession(id, 'x');
      expect(third.execution_count).toBe(3);
      // Jupyter's execute_result carries the count of the run that made it.
      expect(third.results.map((r) => r.execution_count)).toEqual([3]);
      await post('/session/destroy', { session_id: id, tenant_id: tenant });
    });

    // e2b-dev/code-interpreter python/tests/test_kernel.py (a dead kernel restarts empty)
    it('once the kernel died, every later reply says the state was lost', async () => {
      const id = await createSession();
      await inSession(id, 'kept = 1');
      const killed = await inSession(id, 'import os, signal\nos.kill(os.getpid(), signal.SIGKILL)');
      expect(killed.state_lost).toBe(true);
      const next = await inSession(id, "print('kept' in globals())");
      expect(next.stdout).toBe('False\n');
      expect(next.state_lost).toBe(true);
      await post('/session/destroy', { session_id: id, tenant_id: tenant });
    });
  });

  describe('stdin', () => {
    // engineer-man/piston tests/stdin (python: input() echoes what was given)
    it('Python reads the run stdin with input() and sys.stdin', async () => {
      const res = await post<Run>('/execute', {
        tenant_id: tenant,
        code: 'import sys\nname = input()\nprint("hello", name)\nprint(sys.stdin.read().upper(), end="")',
        stdin: 'world\nrest of it\n',
      });
      expect(res.body.stdout).toBe('hello world\nREST OF IT\n');
    });

    // engineer-man/piston packages/bash test (read from stdin)
    it('bash reads the run stdin; without one it reads EOF at once', async () => {
      const given = await post<Run>('/execute', {
        tenant_id: tenant,
        language: 'bash',
        code: 'read a; read b; echo "$b $a"',
        stdin: 'one\ntwo\n',
      });
      expect(given.body.stdout).toBe('two one\n');
      const none = await post<Run>('/execute', {
        tenant_id: tenant,
        language: 'bash',
        code: 'cat; echo end',
        timeout: 5,
      });
      expect(none.body.status).toBe('success');
      expect(none.body.stdout).toBe('end\n');
    });

    it('a session child that reads stdin cannot take the next request', async () => {
      const id = await createSession();
      const r = await inSession(
        id,
        "import subprocess\nprint(repr(subprocess.run(['cat'], capture_output=True).stdout))",
      );
      expect(r.stdout).toBe("b''\n");
      expect((await inSession(id, 'print(2)')).stdout).toBe('2\n');
      await post('/session/destroy', { session_id: id, tenant_id: tenant });
    });
  });

  describe('output encoding', () => {
    // vndee/llm-sandbox tests/test_encoding_errors.py :: test_replace_substitutes_invalid_bytes,
    // test_stderr_also_uses_encoding_errors (our one mode is "replace")
    it('invalid UTF-8 on stdout and stderr becomes U+FFFD, the text around it kept', async () => {
      const r = await post<Run>('/execute', {
        tenant_id: tenant,
        code: "import os\nos.write(1, b'hello\\xff\\xfeworld')\nos.write(2, b'error\\xff\\xfemsg')",
      });
      expect(r.body.stdout).toMatch(/^hello\uFFFD+world$/);
      expect(r.body.stderr).toMatch(/^error\uFFFD+msg$/);
    });

    // vndee/llm-sandbox tests/test_encoding_errors.py :: test_valid_utf8_works_with_all_modes,
    // test_stream_output_respects_encoding_errors (a character split across two writes)
    it('valid UTF-8 comes back exactly, also when a character is split across writes', async () => {
      const r = await post<Run>('/execute', {
        tenant_id: tenant,
        code: [
          'import os, sys, time',
          "print('Hello, \\u4e16\\u754c!')",
          'sys.stdout.flush()',
          "b = '\\u754c'.encode()",
          'os.write(1, b[:1]); time.sleep(0.2); os.write(1, b[1:])',
        ].join('\n'),
      });
      expect(r.body.stdout).toBe('Hello, \u4e16\u754c!\n\u754c');
    });
  });

  describe('plots of a session run', () => {
    // vndee/llm-sandbox tests/test_plot_clearing.py :: test_clear_plots_parameter — with
    // clear_plots, each run returns only the plots it drew; here that is what every run does.
    it('each run returns the figures it drew, and only those', async () => {
      const id = await createSession({ template: 'python-data' });
      const plot =
        'import matplotlib.pyplot as plt\nplt.figure()\nplt.plot([1, 2, 3], [1, 4, 2])\nplt.show()';
      const pngs = (r: Run) => r.results.filter((x) => typeof x.data['image/png'] === 'string').length;
      expect(pngs(await inSession(id, plot))).toBe(1);
      expect(pngs(await inSession(id, plot))).toBe(1);
      expect(pngs(await inSession(id, "print('no plot')"))).toBe(0);
      await post('/session/destroy', { session_id: id, tenant_id: tenant });
    });
  });
});
