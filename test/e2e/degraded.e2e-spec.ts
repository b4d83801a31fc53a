import { ownStack } from './support/own-stack';

/** A stack of its own, so its parts can be stopped without disturbing the other tests. */
describe('health reflects a dependency that is down', () => {
  // Short overheads so a request to a stopped runner fails fast.
  const stack = ownStack({ EXECUTION_OVERHEAD_S: '5' });

  const health = async () => {
    const res = await fetch(`${stack().info.apiUrl}/health`);
    return {
      status: res.status,
      body: (await res.json()) as { status: string; checks: Record<string, { status: string }> },
    };
  };

  it('answers 503 degraded while the runner is down, and recovers when it returns', async () => {
    await stack().stopProcess('runner');
    try {
      await expectRunnerDown();
    } finally {
      stack().startApp('runner');
    }
    await stack().waitHealthy(30000);
    expect((await health()).body.status).toBe('healthy');
  });

  async function expectRunnerDown(): Promise<void> {
    const down = await health();
    expect(down.status).toBe(503);
    expect(down.body.status).toBe('degraded');
    expect(down.body.checks.runner.status).toBe('unhealthy');
    expect(down.body.checks.docker.status).toBe('unhealthy');
    expect(down.body.checks.nats.status).toBe('healthy');

    const started = Date.now();
    const exec = await fetch(`${stack().info.apiUrl}/execute`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tenant_id: 't', code: 'print(1)', timeout: 1 }),
    });
    // Nobody serves the runner's subject: a clear 503 at once, not a hang and not a 500.
    expect(exec.status).toBe(503);
    const body = (await exec.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('DEPENDENCY_UNAVAILABLE');
    expect(body.error.message).toContain('runner');
    expect(Date.now() - started).toBeLessThan(5000);
  }

  it('answers 503 while the session-service (event store holder) is down', async () => {
    await stack().stopProcess('session-service');
    try {
      const down = await health();
      expect(down.status).toBe(503);
      expect(down.body.checks.event_store.status).toBe('unhealthy');
    } finally {
      stack().startApp('session-service');
    }
    await stack().waitHealthy(30000);
  });
});
