import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { N8nWorkflow as Workflow } from '../../../examples/n8n/workflow';

describe('examples/n8n/executor-workflow.json', () => {
  const wf = JSON.parse(
    readFileSync(join(__dirname, '../../../examples/n8n/executor-workflow.json'), 'utf8'),
  ) as Workflow;
  const names = new Set(wf.nodes.map((n) => n.name));

  it('has an HTTP Request node that posts to /execute and an IF node that branches on status', () => {
    const http = wf.nodes.find((n) => n.type === 'n8n-nodes-base.httpRequest');
    expect(http?.parameters).toMatchObject({ method: 'POST', sendBody: true, specifyBody: 'json' });
    expect(String(http?.parameters.url)).toMatch(/\/execute$/);
    expect(String(http?.parameters.jsonBody)).toMatch(/tenant_id.*code/);
    const branch = wf.nodes.find((n) => n.type === 'n8n-nodes-base.if');
    expect(JSON.stringify(branch?.parameters)).toContain('$json.status');
    expect(wf.connections[branch!.name].main).toHaveLength(2);
  });

  it("follows n8n's conventions: an id, the key in a Header Auth credential, no $env, failures continue", () => {
    // n8n 2.x refuses an import without an id, and blocks $env in expressions by default.
    expect(wf.id).toMatch(/^[A-Za-z0-9]{16}$/);
    expect(JSON.stringify(wf)).not.toContain('$env');
    const http = wf.nodes.find((n) => n.type === 'n8n-nodes-base.httpRequest')!;
    expect(http.parameters).toMatchObject({
      authentication: 'genericCredentialType',
      genericAuthType: 'httpHeaderAuth',
    });
    expect(http.parameters.sendHeaders).toBeUndefined();
    expect(http.credentials?.httpHeaderAuth).toEqual({
      id: expect.any(String) as string,
      name: 'Executor API key',
    });
    // A network failure must reach the failure branch, not stop the workflow.
    expect(http.onError).toBe('continueRegularOutput');
    // The URL is a field of the Settings node that comes first.
    expect(String(http.parameters.url)).toContain('$json.executor_url');
    const settings = wf.nodes.find((n) => n.name === 'Settings')!;
    expect(JSON.stringify(settings.parameters)).toContain('"executor_url"');
  });

  it('connects only nodes that exist, each one reached', () => {
    const targets = Object.values(wf.connections).flatMap((c) => c.main.flat().map((t) => t.node));
    for (const [from, c] of Object.entries(wf.connections)) {
      expect(names.has(from)).toBe(true);
      for (const t of c.main.flat()) expect(names.has(t.node)).toBe(true);
    }
    for (const n of wf.nodes) if (!n.type.endsWith('manualTrigger')) expect(targets).toContain(n.name);
  });
});
