import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  LoggingLevelSchema,
  ReadResourceRequestSchema,
  SetLevelRequestSchema,
  type CallToolResult,
  type LoggingLevel,
  type ServerNotification,
  type ServerRequest,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  Client,
  Executor,
  ExecutorError,
  Sandbox,
  type ClientOptions,
  type ExecutionResult,
  type FileEntry,
  type RunOptions,
} from '@executor/sdk';
import {
  argsSchema,
  CreateSandboxArgs,
  ListFilesArgs,
  NoArgs,
  RunCodeArgs,
  RunInSandboxArgs,
  SandboxPathArgs,
  SandboxRefArgs,
  UploadFileArgs,
} from './tool-args';
import { ExecutorResources, RESOURCE_TEMPLATES } from './mcp-resources';

type Content = CallToolResult['content'][number];
type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** The tenant MCP callers act for when the API has no keys. */
export const MCP_DEFAULT_TENANT = 'mcp';
/** Idle seconds of a sandbox made through MCP when the caller names none. */
export const MCP_SANDBOX_TTL_S = 600;
/** How often a run with a progress token says it is still going (clients may reset their timeout on it). */
export const MCP_PROGRESS_INTERVAL_MS = 5000;
/** Text of one stream in a tool result: the rest is in structuredContent. */
const TEXT_LIMIT = 64 * 1024;

const RUN_OUTPUT: Tool['outputSchema'] = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['success', 'error', 'timeout', 'oom', 'sandbox_died'] },
    exit_code: { type: 'integer' },
    stdout: { type: 'string' },
    stderr: { type: 'string' },
    execution_time: { type: 'number' },
    timed_out: { type: 'boolean' },
    oom_killed: { type: 'boolean' },
    truncated: { type: 'boolean' },
    error: { type: 'object' },
    results: { type: 'array', items: { type: 'object' } },
    artifacts: { type: 'array', items: { type: 'object' } },
    sandbox_id: { type: 'string' },
    execution_count: { type: 'integer' },
    state_lost: { type: 'boolean' },
  },
  required: ['status', 'exit_code', 'stdout', 'stderr', 'timed_out', 'oom_killed', 'truncated'],
};
const RUN_OMIT = ['stream'];

interface ToolDef {
  name: string;
  description: string;
  args: new () => object;
  omit?: string[];
  outputSchema?: Tool['outputSchema'];
  call: (args: Record<string, unknown>, extra: Extra) => Promise<CallToolResult>;
}

export interface ExecutorMcpOptions {
  /** How the tools reach the API: its URL and the caller's key (or tenant, without keys). */
  client: ClientOptions;
  name?: string;
  version?: string;
}

/**
 * Executor's MCP server: every tool is a call to the public HTTP API through the SDK, with the
 * caller's own key, so tenancy, limits and events are the API's. Sandboxes made through one MCP
 * session are tracked and destroyed when it closes (`close()`), or when their TTL passes.
 */
export class ExecutorMcp {
  readonly server: Server;
  /** Sandboxes this MCP session created and has not destroyed. */
  readonly sandboxes = new Set<string>();
  private readonly client: Client;
  private readonly tools: ToolDef[];
  private readonly resources: ExecutorResources;
  /** The level the client asked for with logging/setLevel: run output is logged only then. */
  private logLevel: LoggingLevel | undefined;
  /** What to stop when a tool call ends (a run's progress beat), by request id. */
  private readonly runsEnding = new Map<string | number, () => void>();

  constructor(private readonly options: ExecutorMcpOptions) {
    this.client = new Client(options.client);
    this.server = new Server(
      { name: options.name ?? 'executor', version: options.version ?? '0.1.0' },
      {
        capabilities: { tools: {}, resources: {}, logging: {} },
        instructions:
          'Runs code in throw-away sandboxes. run_code for a one-off run; create_sandbox, then ' +
          'run_in_sandbox to keep variables and files between runs. Figures come back as images.',
      },
    );
    this.tools = this.define();
    this.resources = new ExecutorResources(options.client);
    this.server.setRequestHandler(ListResourcesRequestSchema, async () => ({
      resources: await this.resources.list(this.sandboxes),
    }));
    this.server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({
      resourceTemplates: RESOURCE_TEMPLATES,
    }));
    this.server.setRequestHandler(ReadResourceRequestSchema, (request) =>
      this.resources.read(request.params.uri),
    );
    // One MCP session per server: the level is this session's (the SDK's own handler keys it by a
    // session id the stdio transport does not have).
    this.server.setRequestHandler(SetLevelRequestSchema, (request) => {
      this.logLevel = request.params.level;
      return {};
    });
    this.server.setRequestHandler(ListToolsRequestSchema, () => ({
      tools: this.tools.map((t) => ({
        name: t.name,
        description: t.description,
        inputSchema: argsSchema(t.args, t.omit) as Tool['inputSchema'],
        ...(t.outputSchema ? { outputSchema: t.outputSchema } : {}),
      })),
    }));
    this.server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
      const tool = this.tools.find((t) => t.name === request.params.name);
      if (!tool) return failure('UNKNOWN_TOOL', `no tool named ${request.params.name.slice(0, 64)}`);
      const args = request.params.arguments ?? {};
      const problems = await check(tool, args);
      if (problems) return failure('BAD_REQUEST', problems);
      try {
        return await tool.call(args, extra);
      } catch (err) {
        if (err instanceof ExecutorError) return failure(err.code, err.message, err.status);
        if (err instanceof BadArgument) return failure('BAD_REQUEST', err.message);
        return failure('DEPENDENCY_UNAVAILABLE', `the Executor API could not be reached: ${String(err)}`);
      } finally {
        this.runsEnding.get(extra.requestId)?.();
        this.runsEnding.delete(extra.requestId);
      }
    });
  }

  /** Destroys what this MCP session made: called when the session ends. */
  async close(): Promise<void> {
    const ids = [...this.sandboxes];
    this.sandboxes.clear();
    await Promise.all(
      ids.map((id) =>
        this.sandbox(id)
          .kill()
          .catch(() => undefined),
      ),
    );
    await this.server.close().catch(() => undefined);
  }

  /** Whether a log message at `level` goes out: only after the client asked with logging/setLevel. */
  private logs(level: LoggingLevel): boolean {
    if (!this.logLevel) return false;
    const order = LoggingLevelSchema.options;
    return order.indexOf(level) >= order.indexOf(this.logLevel);
  }

  /**
   * The run's options. Output streams as progress notifications when the caller sent a progress
   * token (with a beat every MCP_PROGRESS_INTERVAL_MS while the run is quiet), and as log
   * messages (logger `stdout` or `stderr`, level info) when the client set a logging level.
   */
  private runOptions(a: Record<string, unknown>, extra: Extra): RunOptions & { template?: string } {
    const token = extra._meta?.progressToken;
    let progress = 0;
    const send = (n: ServerNotification) => void extra.sendNotification(n).catch(() => undefined);
    const started = Date.now();
    const beat =
      token === undefined
        ? undefined
        : setInterval(
            () =>
              send({
                method: 'notifications/progress',
                params: {
                  progressToken: token,
                  progress: ++progress,
                  message: `running for ${Math.round((Date.now() - started) / 1000)} s`,
                },
              }),
            MCP_PROGRESS_INTERVAL_MS,
          );
    if (beat) {
      beat.unref();
      const stop = () => clearInterval(beat);
      extra.signal.addEventListener('abort', stop, { once: true });
      this.runsEnding.set(extra.requestId, stop);
    }
    const output = (stream: 'stdout' | 'stderr') => (text: string) => {
      if (token !== undefined)
        send({
          method: 'notifications/progress',
          params: {
            progressToken: token,
            progress: ++progress,
            message: `${stream}: ${text.slice(0, 4096)}`,
          },
        });
      if (this.logs('info'))
        send({
          method: 'notifications/message',
          params: { level: 'info', logger: stream, data: text.slice(0, 4096) },
        });
    };
    const streams = token !== undefined || this.logs('info');
    return {
      ...(a.language ? { language: a.language as string } : {}),
      ...(a.template ? { template: a.template as string } : {}),
      ...(a.timeout ? { timeout: a.timeout as number } : {}),
      ...(a.stdin !== undefined ? { stdin: a.stdin as string } : {}),
      ...(a.env ? { env: a.env as Record<string, string> } : {}),
      ...(a.files
        ? {
            files: (a.files as Array<{ path: string; content: string; encoding?: string }>).map((f, i) => ({
              path: f.path,
              content: f.encoding === 'base64' ? base64(`files[${i}].content`, f.content) : f.content,
            })),
          }
        : {}),
      signal: extra.signal,
      ...(streams ? { onStdout: output('stdout'), onStderr: output('stderr') } : {}),
    };
  }

  private sandbox(id: string): Sandbox {
    return Sandbox.connect(id, this.options.client);
  }

  private define(): ToolDef[] {
    const executor = new Executor(this.options.client);
    return [
      {
        name: 'run_code',
        description:
          'Runs code once in a fresh sandbox that is thrown away after. Returns stdout, stderr, ' +
          'the error with its traceback, and figures as images. Languages: python, javascript, ' +
          'typescript, bash (by template).',
        args: RunCodeArgs,
        omit: RUN_OMIT,
        outputSchema: RUN_OUTPUT,
        call: async (a, extra) =>
          runResult(await executor.execute(a.code as string, this.runOptions(a, extra))),
      },
      {
        name: 'create_sandbox',
        description:
          'Creates a sandbox that keeps its variables and files between run_in_sandbox calls. ' +
          `It ends when destroyed, when this MCP session ends, or after ttl idle seconds (default ${MCP_SANDBOX_TTL_S}).`,
        args: CreateSandboxArgs,
        omit: ['tenant_id', 'scope', 'reuse'],
        outputSchema: {
          type: 'object',
          properties: { sandbox_id: { type: 'string' }, template: { type: 'string' } },
          required: ['sandbox_id', 'template'],
        },
        call: async (a) => {
          const sandbox = await Sandbox.create({
            ...this.options.client,
            ...(a.template ? { template: a.template as string } : {}),
            ttl: (a.ttl as number | undefined) ?? MCP_SANDBOX_TTL_S,
            ...(a.lifetime ? { lifetime: a.lifetime as number } : {}),
            ...(a.env ? { env: a.env as Record<string, string> } : {}),
            ...(a.metadata ? { metadata: a.metadata as Record<string, string> } : {}),
          });
          this.sandboxes.add(sandbox.id);
          const out = { sandbox_id: sandbox.id, template: sandbox.template };
          return jsonResult(out);
        },
      },
      {
        name: 'run_in_sandbox',
        description:
          'Runs code in a sandbox from create_sandbox: variables, imports and files persist between ' +
          'calls. Same outputs as run_code.',
        args: RunInSandboxArgs,
        omit: RUN_OMIT,
        outputSchema: RUN_OUTPUT,
        call: async (a, extra) => {
          const id = a.sandbox_id as string;
          const r = await this.sandbox(id).runCode(a.code as string, this.runOptions(a, extra));
          return runResult(r, id);
        },
      },
      {
        name: 'destroy_sandbox',
        description: 'Ends a sandbox: its state and files are gone.',
        args: SandboxRefArgs,
        call: async (a) => {
          const id = a.sandbox_id as string;
          await this.sandbox(id).kill();
          this.sandboxes.delete(id);
          return done(`sandbox ${id} destroyed`);
        },
      },
      {
        name: 'list_sandboxes',
        description: "The caller's live sandboxes; `owned` marks those this MCP session created.",
        args: NoArgs,
        call: async () => {
          const tenant = this.client.tenantId ? `?tenant_id=${encodeURIComponent(this.client.tenantId)}` : '';
          const { sessions } = await this.client.request<{
            sessions: Array<{ session_id: string; template: string; state: string; expires_at: string }>;
          }>('GET', `/sessions${tenant}`);
          const sandboxes = sessions
            .filter((s) => s.state !== 'expired' && s.state !== 'destroyed')
            .map((s) => ({
              sandbox_id: s.session_id,
              template: s.template,
              state: s.state,
              expires_at: s.expires_at,
              owned: this.sandboxes.has(s.session_id),
            }));
          return jsonResult({ sandboxes }, sandboxes);
        },
      },
      {
        name: 'upload_file',
        description: "Writes a file into a sandbox's /workspace (utf8 text, or base64 for bytes).",
        args: UploadFileArgs,
        call: async (a) => {
          const content =
            a.encoding === 'base64' ? base64('content', a.content as string) : (a.content as string);
          await this.sandbox(a.sandbox_id as string).files.write(a.path as string, content);
          return done(`wrote ${a.path as string}`);
        },
      },
      {
        name: 'download_file',
        description:
          "Reads a file from a sandbox's /workspace: images as images, text as text, other bytes as a blob.",
        args: SandboxPathArgs,
        call: async (a) =>
          fileResult(
            a.path as string,
            await this.sandbox(a.sandbox_id as string).files.read(a.path as string),
          ),
      },
      {
        name: 'list_files',
        description: "Lists a folder of a sandbox's /workspace (default: its root).",
        args: ListFilesArgs,
        call: async (a) => {
          const entries: FileEntry[] = await this.sandbox(a.sandbox_id as string).files.list(
            (a.path as string) ?? '',
          );
          return jsonResult({ entries }, entries);
        },
      },
      {
        name: 'list_templates',
        description: 'The templates sandboxes can be made from, with their languages and limits.',
        args: NoArgs,
        call: async () => {
          const templates = (await executor.templates.list()).map((t) => ({
            name: t.name,
            description: t.description,
            languages: t.languages,
            memory_limit: t.memory_limit,
            timeout: t.timeout,
            image_status: t.image_status,
          }));
          return jsonResult({ templates }, templates);
        },
      },
    ];
  }
}

/** A tool argument the DTO rules cannot judge alone: a BAD_REQUEST result. */
class BadArgument extends Error {}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2,3})?$/;

/** Bytes of a base64 argument; Buffer.from would skip what is not base64 and write the rest. */
function base64(field: string, content: string): Buffer {
  const compact = content.replace(/\s+/g, '');
  if (!BASE64.test(compact)) throw new BadArgument(`${field} is not base64 (encoding is base64)`);
  return Buffer.from(compact, 'base64');
}

async function check(tool: ToolDef, args: Record<string, unknown>): Promise<string | null> {
  for (const k of tool.omit ?? []) {
    if (k in args) return `${k} is not an argument of ${tool.name}`;
  }
  if (tool.args === NoArgs) return Object.keys(args).length > 0 ? `${tool.name} takes no arguments` : null;
  // The API fills in what the tool leaves out (the tenant, from the key): not the caller's to give.
  const errors = (
    await validate(plainToInstance(tool.args, args), { whitelist: true, forbidNonWhitelisted: true })
  ).filter((e) => !(tool.omit ?? []).includes(e.property));
  if (errors.length === 0) return null;
  const messages = (e: (typeof errors)[number]): string[] => [
    ...Object.values(e.constraints ?? {}),
    ...(e.children ?? []).flatMap(messages),
  ];
  return errors.flatMap(messages).join('; ');
}

/** A tool's answer: `structured` for clients that read structuredContent, `shown` as JSON text for the rest. */
function jsonResult(structured: Record<string, unknown>, shown: unknown = structured): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(shown) }], structuredContent: structured };
}

/** The answer of a tool that only does something: `text` for a person, `{ ok: true }` for a program. */
function done(text: string): CallToolResult {
  return { content: [{ type: 'text', text }], structuredContent: { ok: true } };
}

/**
 * A tool error: our code and message as text, `CODE: message`. No structuredContent: clients
 * check it against the tool's output schema even on errors.
 */
function failure(code: string, message: string, status?: number): CallToolResult {
  return {
    isError: true,
    content: [{ type: 'text', text: `${code}: ${message}${status ? ` (HTTP ${status})` : ''}` }],
  };
}

const cut = (s: string) =>
  s.length > TEXT_LIMIT ? `${s.slice(0, TEXT_LIMIT)}\n… (${s.length - TEXT_LIMIT} more characters)` : s;
const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];
const TEXT_TYPES: Array<[string, string]> = [
  ['text/html', 'html'],
  ['image/svg+xml', 'svg'],
  ['application/json', 'json'],
  ['application/vnd.executor.chart+json', 'chart.json'],
  ['application/vnd.executor.dataframe+json', 'dataframe.json'],
  ['text/markdown', 'md'],
  ['text/latex', 'tex'],
];

/** A run as MCP content: the text an agent reads, images it can see, the rest as resources. */
export function runResult(r: ExecutionResult, sandboxId?: string): CallToolResult {
  const content: Content[] = [];
  const lines = [`status: ${r.status} (exit code ${r.exit_code}, ${r.execution_time.toFixed(3)} s)`];
  for (const flag of ['timed_out', 'oom_killed', 'truncated', 'state_lost'] as const)
    if (r[flag]) lines.push(`${flag}: true`);
  content.push({ type: 'text', text: lines.join('\n') });
  if (r.stdout) content.push({ type: 'text', text: `stdout:\n${cut(r.stdout)}` });
  if (r.stderr) content.push({ type: 'text', text: `stderr:\n${cut(r.stderr)}` });
  if (r.error) {
    const tb = r.error.traceback ? `\n${cut(r.error.traceback)}` : '';
    content.push({ type: 'text', text: `error: ${r.error.name}: ${r.error.value}${tb}` });
  }
  const seen = new Set<string>();
  r.results.forEach((res, i) => {
    const image = IMAGE_TYPES.find((t) => typeof res.data[t] === 'string');
    if (image) {
      const data = res.data[image] as string;
      seen.add(data);
      content.push({ type: 'image', data, mimeType: image });
    }
    for (const [mime, ext] of TEXT_TYPES) {
      const value = res.data[mime];
      if (value === undefined) continue;
      const text = typeof value === 'string' ? value : JSON.stringify(value);
      content.push({
        type: 'resource',
        resource: { uri: `executor://result/${i}.${ext}`, mimeType: mime, text: cut(text) },
      });
    }
    const plain = res.data['text/plain'];
    if (!image && typeof plain === 'string' && res.is_main_result)
      content.push({ type: 'text', text: `result: ${cut(plain)}` });
  });
  for (const a of r.artifacts) {
    if (a.encoding === 'base64' && seen.has(a.content)) continue;
    if (IMAGE_TYPES.includes(a.type) && a.encoding === 'base64')
      content.push({ type: 'image', data: a.content, mimeType: a.type });
    else
      content.push({
        type: 'resource',
        resource:
          a.encoding === 'base64'
            ? { uri: `executor://artifact/${encodeURIComponent(a.name)}`, mimeType: a.type, blob: a.content }
            : { uri: `executor://artifact/${encodeURIComponent(a.name)}`, mimeType: a.type, text: a.content },
      });
  }
  const structured = {
    status: r.status,
    exit_code: r.exit_code,
    stdout: r.stdout,
    stderr: r.stderr,
    execution_time: r.execution_time,
    timed_out: r.timed_out,
    oom_killed: r.oom_killed,
    truncated: r.truncated,
    ...(r.error ? { error: r.error } : {}),
    results: r.results.map((x) => ({ is_main_result: x.is_main_result, mime_types: Object.keys(x.data) })),
    artifacts: r.artifacts.map((a) => ({ name: a.name, type: a.type, size: a.size })),
    ...(sandboxId ? { sandbox_id: sandboxId } : {}),
    ...(r.execution_count !== undefined ? { execution_count: r.execution_count } : {}),
    ...(r.state_lost !== undefined ? { state_lost: r.state_lost } : {}),
  };
  return { content, structuredContent: structured };
}

function fileResult(path: string, bytes: Uint8Array): CallToolResult {
  const ext = /\.([A-Za-z0-9]+)$/.exec(path)?.[1]?.toLowerCase() ?? '';
  const images: Record<string, string> = {
    png: 'image/png',
    jpg: 'image/jpeg',
    jpeg: 'image/jpeg',
    gif: 'image/gif',
    webp: 'image/webp',
  };
  const buf = Buffer.from(bytes);
  const meta = { path, size: buf.length };
  if (images[ext])
    return {
      content: [{ type: 'image', data: buf.toString('base64'), mimeType: images[ext] }],
      structuredContent: meta,
    };
  const text = new TextDecoder('utf-8', { fatal: true });
  try {
    return { content: [{ type: 'text', text: cut(text.decode(buf)) }], structuredContent: meta };
  } catch {
    return {
      content: [
        {
          type: 'resource',
          resource: {
            uri: `executor://file/${encodeURIComponent(path)}`,
            mimeType: 'application/octet-stream',
            blob: buf.toString('base64'),
          },
        },
      ],
      structuredContent: meta,
    };
  }
}
