import { createServer } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { ExecutorMcp } from './executor-mcp';

/** A loopback port nothing listens on (bound, then closed). */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
    srv.on('error', reject);
  });
}

/** The MCP server with the SDK's own Client over its in-memory transport, its API unreachable. */
describe('ExecutorMcp when the API cannot be reached', () => {
  let mcp: ExecutorMcp;
  let client: Client;

  beforeAll(async () => {
    mcp = new ExecutorMcp({
      client: { baseUrl: `http://127.0.0.1:${await closedPort()}`, tenantId: 't', maxRetries: 0 },
    });
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await mcp.server.connect(serverSide);
    client = new Client({ name: 'unit', version: '1.0.0' });
    await client.connect(clientSide);
  });

  afterAll(async () => {
    await client.close();
    await mcp.close();
  });

  const text = (r: CallToolResult) => r.content.map((c) => (c.type === 'text' ? c.text : '')).join('');

  it('every tool answers an isError result that says so, never a protocol error', async () => {
    const id = '0b6f3c1e-8d2a-4c55-9e1f-2a3b4c5d6e7f';
    for (const [name, args] of [
      ['run_code', { code: 'print(1)' }],
      ['create_sandbox', {}],
      ['run_in_sandbox', { sandbox_id: id, code: '1' }],
      ['list_sandboxes', {}],
      ['download_file', { sandbox_id: id, path: 'a.txt' }],
      ['list_templates', {}],
    ] as const) {
      const r = (await client.callTool({ name, arguments: args })) as CallToolResult;
      expect(r.isError).toBe(true);
      expect(text(r)).toMatch(/^CONNECTION_FAILED: /);
      expect(r.structuredContent).toBeUndefined();
    }
  });

  it('resources/read is a protocol error with the code in its message', async () => {
    const err = await client.readResource({ uri: 'executor://templates' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(McpError);
    expect((err as McpError).message).toMatch(/^MCP error -32603: CONNECTION_FAILED: /);
  });
});
