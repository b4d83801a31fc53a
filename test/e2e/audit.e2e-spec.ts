import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, waitFor } from '../../scripts/lib/stack';
import { post, stackInfo } from './client';

/** The CLI subscriber an auditor runs: catches up from the store, then follows live events. */
describe('npm run events:tail', () => {
  it('prints past events from --from, then live ones, once each, filtered', async () => {
    const tenant = `audit-${Date.now()}`;
    const before = await post<{ execution_id: string }>('/execute', {
      tenant_id: tenant,
      code: 'print("before")',
    });
    const child = spawn(
      process.execPath,
      [
        join(ROOT, 'dist/scripts/events-tail.js'),
        '--type',
        'ExecutionFinished',
        '--tenant',
        tenant,
        '--from',
        '0',
      ],
      { env: { ...process.env, NATS_URL: stackInfo().natsUrl, EVENT_STORE_PATH: stackInfo().dbPath } },
    );
    const lines: Array<{
      type: string;
      tenant_id: string;
      position: number;
      data: { execution_id: string };
    }> = [];
    let buffer = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const parts = buffer.split('\n');
      buffer = parts.pop() ?? '';
      for (const p of parts) if (p.trim()) lines.push(JSON.parse(p) as (typeof lines)[number]);
    });
    try {
      // A node process starting and reading the whole shared store from position 0 (every
      // spec's events by now): 2-3.5 s at a load of 11 on two cores.
      await waitFor(async () => Promise.resolve(lines.length === 1), 30000, 'the past event');
      expect(lines[0].data.execution_id).toBe(before.body.execution_id);
      const after = await post<{ execution_id: string }>('/execute', {
        tenant_id: tenant,
        code: 'print("after")',
      });
      await waitFor(async () => Promise.resolve(lines.length === 2), 10000, 'the live event');
      expect(lines[1].data.execution_id).toBe(after.body.execution_id);
      expect(lines.every((l) => l.type === 'ExecutionFinished' && l.tenant_id === tenant)).toBe(true);
      expect(lines[1].position).toBeGreaterThan(lines[0].position);
    } finally {
      child.kill('SIGTERM');
    }
  });
});
