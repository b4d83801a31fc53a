import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  LoggingMessageNotificationSchema,
  McpError,
  type CallToolResult,
  type LoggingMessageNotification,
} from '@modelcontextprotocol/sdk/types.js';
import { ROOT, Stack } from '../../scripts/lib/stack';

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The MCP server (issue #20) driven by the MCP SDK's own Client, over Streamable HTTP and stdio. */
describe('MCP server', () => {
  let stack: Stack;
  const clients: Client[] = [];

  beforeAll(async () => {
    stack = await Stack.create({
      EXECUTOR_API_KEYS: 't1:tenant:key-one,t2:tenant:key-two',
      // Sessions with no request open this long are closed (a connected client holds its stream).
      MCP_SESSION_IDLE_S: '5',
    });
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

    it("serves templates and a sandbox's files as resources; another tenant's are not found", async () => {
      const { resources } = await client.listResources();
      expect(resources.map((r) => r.uri)).toEqual(
        expect.arrayContaining(['executor://templates', 'executor://templates/default']),
      );
      const { resourceTemplates } = await client.listResourceTemplates();
      expect(resourceTemplates.map((t) => t.uriTemplate)).toEqual([
        'executor://templates/{name}',
        'executor://sandboxes/{sandbox_id}/files/{+path}',
      ]);
      const textOf = (r: { contents: Array<Record<string, unknown>> }) => r.contents[0].text as string;
      const all = JSON.parse(textOf(await client.readResource({ uri: 'executor://templates' }))) as Array<{
        name: string;
      }>;
      expect(all.map((t) => t.name)).toContain('python-data');
      const one = await client.readResource({ uri: 'executor://templates/default' });
      expect(one.contents[0].mimeType).toBe('application/json');
      const template = JSON.parse(textOf(one)) as { name: string; languages: string[] };
      expect(template.name).toBe('default');
      expect(template.languages).toContain('python');
      /** resources/read refuses with a protocol error: its code, and our code in the message. */
      const refused = async (uri: string, code: number, message: RegExp, c: Client = client) => {
        const err = await c.readResource({ uri }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(McpError);
        expect((err as McpError).code).toBe(code);
        expect((err as McpError).message).toMatch(message);
      };
      await refused('executor://templates/no-such-template', -32002, /NOT_FOUND: unknown template/);

      const created = await call(client, 'create_sandbox', { ttl: 120 });
      const id = (created.structuredContent as { sandbox_id: string }).sandbox_id;
      await call(client, 'upload_file', { sandbox_id: id, path: 'notes/hello.txt', content: 'héllo\n' });
      await call(client, 'run_in_sandbox', {
        sandbox_id: id,
        code: "open('notes/raw.dat', 'wb').write(bytes(range(256)))\nopen('big.txt', 'w').write('x' * (6 * 1024 * 1024))",
      });
      const files = `executor://sandboxes/${id}/files`;
      expect((await client.listResources()).resources.map((r) => r.uri)).toContain(files);
      expect((await client.readResource({ uri: `${files}/notes/hello.txt` })).contents).toEqual([
        { uri: `${files}/notes/hello.txt`, mimeType: 'text/plain', text: 'héllo\n' },
      ]);
      const raw = (await client.readResource({ uri: `${files}/notes/raw.dat` })).contents[0] as {
        mimeType: string;
        blob: string;
      };
      expect(raw.mimeType).toBe('application/octet-stream');
      expect(Buffer.from(raw.blob, 'base64')).toEqual(Buffer.from([...Array(256).keys()]));
      const folder = JSON.parse(textOf(await client.readResource({ uri: `${files}/notes/` }))) as Array<{
        name: string;
      }>;
      expect(folder.map((e) => e.name).sort()).toEqual(['hello.txt', 'raw.dat']);
      await refused(`${files}/big.txt`, -32602, /FILE_TOO_LARGE: big.txt is 6291456 bytes/);
      await refused(`${files}/missing.txt`, -32002, /NOT_FOUND/);
      await refused(
        `${files}/notes/../../etc/passwd`,
        -32602,
        /VALIDATION_ERROR: path must not contain \.\./,
      );
      await refused(`${files}/..%2Fetc%2Fpasswd`, -32002, /no resource/);

      const other = await overHttp('key-two');
      await refused(`${files}/notes/hello.txt`, -32002, /SESSION_NOT_FOUND/, other.client);
      expect((await other.client.listResources()).resources.map((r) => r.uri)).not.toContain(files);
      await other.transport.terminateSession();
      await call(client, 'destroy_sandbox', { sandbox_id: id });
      await refused(`${files}/notes/hello.txt`, -32002, /SESSION_/);
    });

    it('streams output as log messages once the client sets a level, and beats progress on a quiet run', async () => {
      const logged: LoggingMessageNotification['params'][] = [];
      client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
        logged.push(n.params);
      });
      await call(client, 'run_code', { code: 'print("not asked for")' });
      expect(logged).toEqual([]);

      await client.setLoggingLevel('info');
      const progress: string[] = [];
      const started = Date.now();
      const r = (await client.callTool(
        {
          name: 'run_code',
          arguments: {
            code: 'import sys, time\nprint("before", flush=True)\ntime.sleep(6)\nprint("after", file=sys.stderr, flush=True)',
          },
        },
        undefined,
        { onprogress: (p) => progress.push(p.message ?? ''), resetTimeoutOnProgress: true },
      )) as CallToolResult;
      expect(r.structuredContent).toMatchObject({ status: 'success', stdout: 'before\n', stderr: 'after\n' });
      const streamed = (logger: string) =>
        logged
          .filter((m) => m.logger === logger)
          .map((m) => m.data as string)
          .join('');
      expect(logged.every((m) => m.level === 'info')).toBe(true);
      expect(streamed('stdout')).toBe('before\n');
      expect(streamed('stderr')).toBe('after\n');
      expect(progress).toEqual(expect.arrayContaining([expect.stringMatching(/^running for \d+ s$/)]));
      expect(Date.now() - started).toBeGreaterThan(5000);

      // A level above info turns the output off again.
      logged.length = 0;
      await client.setLoggingLevel('error');
      await call(client, 'run_code', { code: 'print("quiet again")' });
      expect(logged).toEqual([]);
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
      // Bytes that are not base64 are refused, not half-decoded into a file.
      const notBase64 = await call(client, 'run_code', {
        code: '1',
        files: [{ path: 'x.dat', content: 'not base64!', encoding: 'base64' }],
      });
      expect(notBase64.isError).toBe(true);
      expect(text(notBase64)).toBe('BAD_REQUEST: files[0].content is not base64 (encoding is base64)');
      const unknownTool = await call(client, 'no_such_tool');
      expect(unknownTool.isError).toBe(true);
      expect(text(unknownTool)).toMatch(/^UNKNOWN_TOOL: /);
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

    it('a quiet client keeps its session; one that goes away without DELETE loses it, and its sandboxes', async () => {
      const gone = await overHttp('key-one');
      const created = await call(gone.client, 'create_sandbox', {});
      const id = (created.structuredContent as { sandbox_id: string }).sandbox_id;
      // Connected and quiet for longer than MCP_SESSION_IDLE_S: its event stream keeps it.
      await new Promise((r) => setTimeout(r, 6500));
      expect((await call(gone.client, 'list_sandboxes')).isError).toBeFalsy();
      expect(await sessionState(id, 'key-one')).toBe('active');
      // Gone without ending the MCP session (no DELETE): closed once idle, its sandbox with it.
      await gone.client.close();
      for (let i = 0; i < 150 && (await sessionState(id, 'key-one')) === 'active'; i++) {
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
      const template = await client.readResource({ uri: 'executor://templates/default' });
      expect(JSON.parse((template.contents[0] as { text: string }).text)).toMatchObject({ name: 'default' });
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
