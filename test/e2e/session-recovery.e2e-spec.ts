import Database from 'better-sqlite3';
import Docker from 'dockerode';
import { waitFor, type AppName } from '../../scripts/lib/stack';
import { ownStack } from './support/own-stack';

/** A stack of its own, whose session-service and runner are killed and restarted. */
describe('session recovery', () => {
  const stack = ownStack({ SESSION_SWEEP_INTERVAL_MS: '300' });

  async function call<T>(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }> {
    const res = await fetch(`${stack().info.apiUrl}${path}`, {
      method,
      headers: body ? { 'content-type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: (await res.json()) as T };
  }

  const sessionTypes = (id: string) => {
    const db = new Database(stack().info.dbPath, { readonly: true });
    try {
      return (
        db
          .prepare('SELECT type FROM events WHERE stream_id = ? ORDER BY version')
          .all(`session-${id}`) as Array<{
          type: string;
        }>
      ).map((r) => r.type);
    } finally {
      db.close();
    }
  };

  /** A new session of tenant rt in `scope` that has run `code`. */
  async function sessionThatRan(scope: string, code: string): Promise<string> {
    const created = await call<{ session_id: string }>('POST', '/session/create', { tenant_id: 'rt', scope });
    const id = created.body.session_id;
    await call('POST', '/session/execute', { session_id: id, code });
    return id;
  }

  /** Kills `app` with -9 and starts it again, until the stack is healthy. */
  async function killAndRestart(app: AppName): Promise<void> {
    await stack().stopProcess(app, 'SIGKILL');
    stack().startApp(app);
    await stack().waitHealthy(30000);
  }

  it('rebuilds every live session from the log after the session-service is killed', async () => {
    const id = await sessionThatRan('a', 'x = 41');

    await killAndRestart('session-service');

    const after = await call<{ stdout: string }>('POST', '/session/execute', {
      session_id: id,
      code: 'print(x + 1)',
    });
    expect(after.status).toBe(200);
    expect(after.body.stdout).toBe('42\n');
    const view = await call<{ session: { state: string; executions: number } }>('GET', `/session/${id}`);
    expect(view.body.session).toMatchObject({ state: 'active', executions: 2 });
  });

  it('keeps custom templates across a restart of the template-service', async () => {
    const reg = await call<{ template: { name: string } }>('POST', '/templates', {
      name: 'kept-template',
      base: 'default',
    });
    expect(reg.status).toBe(201);
    await killAndRestart('template-service');
    const after = await call<{ template: { name: string; builtin: boolean } }>(
      'GET',
      '/templates/kept-template',
    );
    expect(after.status).toBe(200);
    expect(after.body.template).toMatchObject({ name: 'kept-template', builtin: false });
  });

  it('marks the sessions of a restarted runner lost, and leaves no container behind', async () => {
    const id = await sessionThatRan('b', 'y = 1');

    await killAndRestart('runner');

    await waitFor(
      async () =>
        (await call<{ session: { state: string } }>('GET', `/session/${id}`)).body.session.state === 'lost',
      10000,
      'the session to be marked lost',
    );
    const res = await call<{ error: { code: string } }>('POST', '/session/execute', {
      session_id: id,
      code: 'y',
    });
    expect(res.status).toBe(410);
    expect(res.body.error.code).toBe('SESSION_LOST');
    expect(sessionTypes(id)).toEqual(['SessionCreated', 'SessionExecuted', 'SessionLost']);

    // The killed runner's containers were swept by its successor; what is left is its warm pool.
    const docker = new Docker();
    await waitFor(
      async () => {
        const mine = await docker.listContainers({
          all: true,
          filters: { label: [`executor.runner=${stack().info.runnerId}`] },
        });
        return mine.every((c) => c.State === 'running');
      },
      10000,
      'no stopped containers of the runner',
    );
    const fresh = await call<{ session_id: string; reused: boolean }>('POST', '/session/create', {
      tenant_id: 'rt',
      scope: 'b',
    });
    expect(fresh.body.reused).toBe(false);
    expect(
      (
        await call<{ stdout: string }>('POST', '/session/execute', {
          session_id: fresh.body.session_id,
          code: 'print(2)',
        })
      ).body.stdout,
    ).toBe('2\n');
  });
});
