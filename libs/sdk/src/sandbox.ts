import { Client, encodeFiles, type ClientOptions } from './client';
import type {
  Context,
  ExecutionResult,
  FileEntry,
  RunOptions,
  TemplateDefinition,
  TemplateInfo,
} from './types';

/** Calls that are safe to send again whatever happened to the first (reads, file calls, destroy). */
const IDEMPOTENT = { idempotent: true };

export interface SandboxOptions extends ClientOptions {
  template?: string;
  /** Idle seconds before the sandbox expires (sliding). */
  ttl?: number;
  /** Sessions of one tenant, scope and template are reused; default: a new scope each time. */
  scope?: string;
  metadata?: Record<string, string>;
  /** Seconds from creation after which the sandbox ends, busy or not (E2B's timeout). */
  lifetime?: number;
  /** Environment variables of every run in the sandbox. */
  env?: Record<string, string>;
}

/** What every run sends of its options, sandbox or one-off (`contextId` is a sandbox's alone). */
function runFields(code: string, options: RunOptions) {
  return {
    code,
    ...(options.language ? { language: options.language } : {}),
    ...(options.timeout ? { timeout: options.timeout } : {}),
    ...(options.files ? { files: encodeFiles(options.files) } : {}),
    ...(options.stdin !== undefined ? { stdin: options.stdin } : {}),
    ...(options.env ? { env: options.env } : {}),
  };
}

/** A sandbox that keeps its state between runs (a session on the server). */
export class Sandbox {
  private constructor(
    private readonly client: Client,
    readonly id: string,
    readonly template: string,
  ) {}

  static async create(options: SandboxOptions = {}): Promise<Sandbox> {
    const client = new Client(options);
    const reply = await client.request<{ session_id: string; template: string }>(
      'POST',
      '/session/create',
      {
        ...(client.tenantId ? { tenant_id: client.tenantId } : {}),
        scope: options.scope ?? `sdk-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`,
        ...(options.template ? { template: options.template } : {}),
        ...(options.ttl ? { ttl: options.ttl } : {}),
        ...(options.metadata ? { metadata: options.metadata } : {}),
        ...(options.lifetime ? { lifetime: options.lifetime } : {}),
        ...(options.env ? { env: options.env } : {}),
        reuse: options.scope !== undefined,
      },
      { timeoutS: client.sessionCreateTimeout },
    );
    return new Sandbox(client, reply.session_id, reply.template);
  }

  /** A sandbox made before, by its id (E2B's `Sandbox.connect`): nothing is sent until it is used. */
  static connect(id: string, options: ClientOptions = {}): Sandbox {
    return new Sandbox(new Client(options), id, '');
  }

  private get ref() {
    return { session_id: this.id, ...(this.client.tenantId ? { tenant_id: this.client.tenantId } : {}) };
  }

  private query(extra: Record<string, string>): string {
    return new URLSearchParams({ ...this.ref, ...extra }).toString();
  }

  /** Runs code in the sandbox; variables persist between runs. Streams output to the callbacks given. */
  runCode(code: string, options: RunOptions = {}): Promise<ExecutionResult> {
    return this.client.run(
      '/session/execute',
      {
        ...this.ref,
        ...runFields(code, options),
        ...(options.contextId ? { context_id: options.contextId } : {}),
      },
      options,
    );
  }

  readonly files = {
    write: async (path: string, content: string | Uint8Array): Promise<void> => {
      const body =
        typeof content === 'string'
          ? { content }
          : { content: Buffer.from(content).toString('base64'), encoding: 'base64' };
      await this.client.request('POST', '/session/files/upload', { ...this.ref, path, ...body }, IDEMPOTENT);
    },
    read: (path: string): Promise<Uint8Array> =>
      this.client.raw(`/session/files/download?${this.query({ path })}`),
    readText: async (path: string): Promise<string> => new TextDecoder().decode(await this.files.read(path)),
    list: async (path = ''): Promise<FileEntry[]> =>
      (
        await this.client.request<{ entries: FileEntry[] }>(
          'GET',
          `/session/files/list?${this.query({ path })}`,
          undefined,
          IDEMPOTENT,
        )
      ).entries,
    remove: async (path: string): Promise<void> => {
      await this.client.request('POST', '/session/files/delete', { ...this.ref, path }, IDEMPOTENT);
    },
    mkdir: async (path: string): Promise<void> => {
      await this.client.request('POST', '/session/files/mkdir', { ...this.ref, path }, IDEMPOTENT);
    },
  };

  /** Further kernels in the sandbox, each with its own variables, sharing its files (E2B's contexts). */
  readonly contexts = {
    create: async (options: { language?: string; cwd?: string } = {}): Promise<Context> =>
      (
        await this.client.request<{ context: Context }>('POST', '/session/contexts/create', {
          ...this.ref,
          ...options,
        })
      ).context,
    list: async (): Promise<Context[]> =>
      (await this.client.request<{ contexts: Context[] }>('GET', `/session/contexts/list?${this.query({})}`))
        .contexts,
    restart: async (contextId: string): Promise<void> => {
      await this.client.request('POST', '/session/contexts/restart', { ...this.ref, context_id: contextId });
    },
    remove: async (contextId: string): Promise<void> => {
      await this.client.request('POST', '/session/contexts/delete', { ...this.ref, context_id: contextId });
    },
  };

  /** Ends the sandbox; its state and files are gone. */
  async kill(): Promise<void> {
    await this.client.request('POST', '/session/destroy', this.ref, IDEMPOTENT);
  }

  /** `await using sandbox = await Sandbox.create()` kills it at the end of the block. */
  async [Symbol.for('nodejs.asyncDispose')](): Promise<void> {
    await this.kill().catch(() => undefined);
  }
}

/** One-off runs (a fresh sandbox each, thrown away after) and templates. */
export class Executor {
  private readonly client: Client;

  constructor(options: ClientOptions = {}) {
    this.client = new Client(options);
  }

  static execute(
    code: string,
    options: RunOptions & ClientOptions & { template?: string; env?: Record<string, string> } = {},
  ) {
    return new Executor(options).execute(code, options);
  }

  execute(
    code: string,
    options: RunOptions & { template?: string; env?: Record<string, string> } = {},
  ): Promise<ExecutionResult> {
    return this.client.run(
      '/execute',
      {
        ...(this.client.tenantId ? { tenant_id: this.client.tenantId } : {}),
        ...runFields(code, options),
        ...(options.template ? { template: options.template } : {}),
      },
      options,
    );
  }

  readonly templates = {
    list: async (): Promise<TemplateInfo[]> =>
      (await this.client.request<{ templates: TemplateInfo[] }>('GET', '/templates', undefined, IDEMPOTENT))
        .templates,
    get: async (name: string): Promise<TemplateInfo> =>
      (
        await this.client.request<{ template: TemplateInfo }>(
          'GET',
          `/templates/${encodeURIComponent(name)}`,
          undefined,
          IDEMPOTENT,
        )
      ).template,
    register: async (definition: TemplateDefinition): Promise<TemplateInfo> =>
      (await this.client.request<{ template: TemplateInfo }>('POST', '/templates', definition)).template,
    remove: async (name: string): Promise<void> => {
      await this.client.request('DELETE', `/templates/${encodeURIComponent(name)}`, undefined, IDEMPOTENT);
    },
  };
}
