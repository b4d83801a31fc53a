import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { ROOT, Stack } from '../../scripts/lib/stack';

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The MCP server (issue #20) driven by the MCP SDK's own Client, over Streamable HTTP and stdio. */
describe('MCP server', () => {
  let stack: Stack;
  const clients: Client[] = [];

  beforeAll(async () => {
    stack = await Stack.create({ EXECUTOR_API_KEYS: 't1:tenant:key-one,t2:tenant:key-two' });
    await stack.start();
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await stack?.stop();
  });

  async function overHttp(
    key: string,
  ): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
    const transport = new StreamableHTTPClientTransport(new URL(`${stack.info.apiUrl}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${key}` } },
    });
    const client = new Client({ name: 'executor-e2e', version: '1.0.0' });
    await client.connect(transport);
    clients.push(client);
    return { client, transport };
  }

  const call = async (client: Client, name: string, args: Record<string, unknown> = {}) =>
    (await client.callTool({ name, arguments: args })) as CallToolResult;
  const text = (r: CallToolResult) =>
    r.content
      .filter((c) => c.type === 'text')
      .map((c) => (c as { text: string }).text)
      .join('\n');
  const sessionState = async (id: string, key: string) => {
    const res = await fetch(`${stack.info.apiUrl}/session/${id}`, {
      headers: { authorization: `Bearer ${key}` },
    });
    const body = (await res.json()) as { session?: { state: string } };
    return body.session?.state ?? `http ${res.status}`;
  };

  describe('over Streamable HTTP', () => {
    let client: Client;
    let transport: StreamableHTTPClientTransport;
    beforeAll(async () => {
      ({ client, transport } = await overHttp('key-one'));
    });

    it('lists the tools with input schemas from the DTOs and output schemas for runs', async () => {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual(
        [
          'create_sandbox',
          'destroy_sandbox',
          'download_file',
          'list_files',
          'list_sandboxes',
          'list_templates',
          'run_code',
          'run_in_sandbox',
          'upload_file',
        ].sort(),
      );
      const run = tools.find((t) => t.name === 'run_code')!;
      const props = run.inputSchema.properties as Record<string, Record<string, unknown>>;
      expect(run.inputSchema.required).toEqual(['code']);
      expect(props.code).toMatchObject({ type: 'string', maxLength: 1024 * 1024 });
      expect(props.timeout).toMatchObject({ type: 'integer', minimum: 1, maximum: 300 });
      expect(props.files).toMatchObject({
        type: 'array',
        items: { properties: { path: { type: 'string' } } },
      });
      expect(props.tenant_id).toBeUndefined();
      expect(props.stream).toBeUndefined();
      expect(run.outputSchema?.required).toContain('status');
      const create = tools.find((t) => t.name === 'create_sandbox')!;
      expect(Object.keys(create.inputSchema.properties ?? {})).not.toContain('tenant_id');
    });

    it('run_code of a matplotlib plot returns image content whose bytes are a PNG', async () => {
      const r = await call(client, 'run_code', {
        template: 'python-data',
        code: "import matplotlib.pyplot as plt\nplt.plot([1, 4, 9])\nplt.title('squares')\nplt.show()\nprint('drawn')",
      });
      expect(r.isError).toBeFalsy();
      expect(r.structuredContent).toMatchObject({ status: 'success', exit_code: 0, stdout: 'drawn\n' });
      const images = r.content.filter((c) => c.type === 'image') as Array<{ data: string; mimeType: string }>;
      expect(images).toHaveLength(1);
      expect(images[0].mimeType).toBe('image/png');
      expect(Buffer.from(images[0].data, 'base64').subarray(0, 8)).toEqual(PNG);
      // The chart's data comes too, as a resource an agent can read.
      const chart = r.content.find(
        (c) => c.type === 'resource' && c.resource.mimeType === 'application/vnd.executor.chart+json',
      ) as { resource: { text: string } } | undefined;
      expect(JSON.parse(chart!.resource.text)).toMatchObject({ type: 'line', title: 'squares' });
    });

    it('an error comes back with its traceback, as a result of the run (not a tool error)', async () => {
      const r = await call(client, 'run_code', { code: 'def f():\n    raise ValueError("boom")\nf()' });
      expect(r.isError).toBeFalsy();
      expect(r.structuredContent).toMatchObject({
        status: 'error',
        error: { name: 'ValueError', value: 'boom' },
      });
      expect(text(r)).toMatch(/error: ValueError: boom[\s\S]*Traceback/);
    });

    it('keeps state across run_in_sandbox calls, with files in and out, and streams progress', async () => {
      const created = await call(client, 'create_sandbox', { ttl: 120 });
      const id = (created.structuredContent as { sandbox_id: string }).sandbox_id;
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      await call(client, 'run_in_sandbox', { sandbox_id: id, code: 'x = 41' });
      const kept = await call(client, 'run_in_sandbox', { sandbox_id: id, code: 'x + 1' });
      expect(text(kept)).toContain('result: 42');
      expect(kept.structuredContent).toMatchObject({ sandbox_id: id, execution_count: 2 });

      await call(client, 'upload_file', { sandbox_id: id, path: 'data/in.txt', content: 'hello' });
      await call(client, 'run_in_sandbox', {
        sandbox_id: id,
        code: "open('data/out.txt', 'w').write(open('data/in.txt').read().upper())",
      });
      const listed = await call(client, 'list_files', { sandbox_id: id, path: 'data' });
      expect(
        (listed.structuredContent as { entries: Array<{ name: string }> }).entries.map((e) => e.name).sort(),
      ).toEqual(['in.txt', 'out.txt']);
      expect(text(await call(client, 'download_file', { sandbox_id: id, path: 'data/out.txt' }))).toBe(
        'HELLO',
      );

      const progress: string[] = [];
      const streamed = (await client.callTool(
        {
          name: 'run_in_sandbox',
          arguments: {
            sandbox_id: id,
            code: 'import time\nfor i in range(3):\n    print(i, flush=True); time.sleep(0.2)',
          },
        },
        undefined,
        { onprogress: (p) => progress.push(p.message ?? '') },
      )) as CallToolResult;
      expect((streamed.structuredContent as { stdout: string }).stdout).toBe('0\n1\n2\n');
      expect(progress.join('')).toMatch(/stdout: 0[\s\S]*stdout: 2/);

      const listedSandboxes = await call(client, 'list_sandboxes');
      expect(
        (listedSandboxes.structuredContent as { sandboxes: Array<{ sandbox_id: string; owned: boolean }> })
          .sandboxes,
      ).toContainEqual(expect.objectContaining({ sandbox_id: id, owned: true }));
      await call(client, 'destroy_sandbox', { sandbox_id: id });
      expect(await sessionState(id, 'key-one')).not.toBe('active');
    });

    it('an unknown template and a bad argument are isError results with our codes', async () => {
      const unknown = await call(client, 'run_code', { code: '1', template: 'no-such-template' });
      expect(unknown.isError).toBe(true);
      expect(text(unknown)).toMatch(/^UNKNOWN_TEMPLATE: .*\(HTTP 400\)$/);
      const bad = await call(client, 'run_code', { code: '1', timeout: 'soon' });
      expect(bad.isError).toBe(true);
      expect(text(bad)).toMatch(/^BAD_REQUEST: .*timeout/);
      const extra = await call(client, 'run_code', { code: '1', tenant_id: 't2' });
      expect(extra.isError).toBe(true);
      expect(text(await call(client, 'run_in_sandbox', { sandbox_id: 'nope', code: '1' }))).toMatch(
        /BAD_REQUEST: sandbox_id/,
      );
    });

    it("another tenant's sandbox_id is not found; the sandboxes of a session are gone after it closes", async () => {
      const created = await call(client, 'create_sandbox', {});
      const id = (created.structuredContent as { sandbox_id: string }).sandbox_id;
      const other = await overHttp('key-two');
      const foreign = await call(other.client, 'run_in_sandbox', { sandbox_id: id, code: '1' });
      expect(foreign.isError).toBe(true);
      expect(text(foreign)).toMatch(/^SESSION_NOT_FOUND: /);
      // The other tenant's MCP session id with this tenant's key is not found either.
      const stolen = await fetch(`${stack.info.apiUrl}/mcp`, {
        method: 'POST',
        headers: {
          authorization: 'Bearer key-one',
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-session-id': other.transport.sessionId!,
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' }),
      });
      expect(stolen.status).toBe(404);

      expect(await sessionState(id, 'key-one')).toBe('active');
      await transport.terminateSession();
      await client.close();
      for (let i = 0; i < 50 && (await sessionState(id, 'key-one')) === 'active'; i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(await sessionState(id, 'key-one')).not.toBe('active');
    });

    it('needs a key like every route', async () => {
      const res = await fetch(`${stack.info.apiUrl}/mcp`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: {} }),
      });
      expect(res.status).toBe(401);
    });
  });

  describe('over stdio', () => {
    it('runs code, keeps sandboxes, and destroys them when the client goes away', async () => {
      const transport = new StdioClientTransport({
        command: process.execPath,
        args: [join(ROOT, 'dist', 'apps', 'api', 'src', 'mcp', 'stdio.js')],
        env: { EXECUTOR_URL: stack.info.apiUrl, EXECUTOR_API_KEY: 'key-one', PATH: process.env.PATH ?? '' },
        stderr: 'pipe',
      });
      const client = new Client({ name: 'executor-e2e-stdio', version: '1.0.0' });
      await client.connect(transport);
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toContain('run_code');
      expect(text(await call(client, 'run_code', { code: 'print(6 * 7)' }))).toContain('stdout:\n42\n');
      const created = await call(client, 'create_sandbox', {});
      const id = (created.structuredContent as { sandbox_id: string }).sandbox_id;
      expect(await sessionState(id, 'key-one')).toBe('active');
      await client.close();
      for (let i = 0; i < 50 && (await sessionState(id, 'key-one')) === 'active'; i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(await sessionState(id, 'key-one')).not.toBe('active');
    });
  });
});
