#!/usr/bin/env node
// Executor's MCP server over stdio, for desktop MCP clients: `npm run mcp` or the
// `executor-mcp` bin, with EXECUTOR_URL (default http://127.0.0.1:8080) and EXECUTOR_API_KEY
// (or EXECUTOR_TENANT when the API has no keys). Stdout carries the protocol only.
import 'reflect-metadata';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { ExecutorMcp, MCP_DEFAULT_TENANT } from './executor-mcp';

async function main(): Promise<void> {
  const apiKey = process.env.EXECUTOR_API_KEY || undefined;
  const mcp = new ExecutorMcp({
    client: {
      ...(process.env.EXECUTOR_URL ? { baseUrl: process.env.EXECUTOR_URL } : {}),
      ...(apiKey ? { apiKey } : { tenantId: process.env.EXECUTOR_TENANT || MCP_DEFAULT_TENANT }),
    },
  });
  let closing: Promise<void> | undefined;
  // The session ends when the client closes our stdin or stops us: its sandboxes go with it.
  const end = () => {
    closing ??= mcp.close().finally(() => process.exit(0));
    return closing;
  };
  process.stdin.once('end', () => void end());
  process.once('SIGTERM', () => void end());
  process.once('SIGINT', () => void end());
  await mcp.server.connect(new StdioServerTransport());
}

main().catch((err: unknown) => {
  process.stderr.write(`executor-mcp: ${String(err)}\n`);
  process.exit(1);
});
