import { ErrorCode, type ReadResourceResult, type Resource } from '@modelcontextprotocol/sdk/types.js';
import { workspacePathError } from '@executor/contracts';
import { Executor, ExecutorError, Sandbox, type ClientOptions } from '@executor/sdk';

type Contents = ReadResourceResult['contents'][number];

/** The MCP spec's code for a resource that does not exist (or is not the caller's). */
export const RESOURCE_NOT_FOUND = -32002;
/** The largest file read as a resource: it lands in a model's context; larger ones use the API. */
export const RESOURCE_MAX_BYTES = 5 * 1024 * 1024;

export const TEMPLATES_URI = 'executor://templates';
const TEMPLATE_URI = /^executor:\/\/templates\/([^/?#]+)$/;
const FILE_URI = /^executor:\/\/sandboxes\/([^/?#]+)\/files(?:\/([^?#]*))?$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const RESOURCE_TEMPLATES = [
  {
    uriTemplate: 'executor://templates/{name}',
    name: 'template',
    title: 'A template',
    description: 'One template: its languages, limits, packages and image status (JSON).',
    mimeType: 'application/json',
  },
  {
    uriTemplate: 'executor://sandboxes/{sandbox_id}/files/{+path}',
    name: 'sandbox-file',
    title: "A file in a sandbox's /workspace",
    description:
      `A file of a sandbox from create_sandbox, by its path in /workspace: text as text, other bytes ` +
      `as a base64 blob, at most ${RESOURCE_MAX_BYTES / 1024 / 1024} MiB. ` +
      'executor://sandboxes/{sandbox_id}/files lists its root (JSON), .../files/{folder}/ a folder.',
  },
];

const MIME_BY_EXT: Record<string, string> = {
  txt: 'text/plain',
  log: 'text/plain',
  md: 'text/markdown',
  csv: 'text/csv',
  tsv: 'text/tab-separated-values',
  json: 'application/json',
  html: 'text/html',
  xml: 'application/xml',
  svg: 'image/svg+xml',
  py: 'text/x-python',
  js: 'text/javascript',
  ts: 'text/x-typescript',
  yaml: 'application/yaml',
  yml: 'application/yaml',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  pdf: 'application/pdf',
  zip: 'application/zip',
};

export function mimeOf(path: string, text: boolean): string {
  const ext = /\.([A-Za-z0-9]+)$/.exec(path)?.[1]?.toLowerCase() ?? '';
  return MIME_BY_EXT[ext] ?? (text ? 'text/plain' : 'application/octet-stream');
}

/** A resource URI, parsed: what it names, or null for a URI this server does not serve. */
export type ResourceRef =
  | { kind: 'templates' }
  | { kind: 'template'; name: string }
  | { kind: 'folder'; sandboxId: string; path: string }
  | { kind: 'file'; sandboxId: string; path: string };

export function parseResourceUri(uri: string): ResourceRef | null {
  if (uri === TEMPLATES_URI) return { kind: 'templates' };
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return null;
    }
  };
  const t = TEMPLATE_URI.exec(uri);
  if (t) {
    const name = decode(t[1]);
    return name ? { kind: 'template', name } : null;
  }
  const f = FILE_URI.exec(uri);
  if (!f) return null;
  const sandboxId = decode(f[1]);
  // Segments are decoded one by one: an encoded "/" may not make a path of its own.
  const segments = (f[2] ?? '').split('/').map(decode);
  if (!sandboxId || !UUID.test(sandboxId) || segments.some((s) => s === null || s.includes('/'))) return null;
  const path = segments.join('/');
  if (path === '' || path.endsWith('/')) return { kind: 'folder', sandboxId, path: path.replace(/\/$/, '') };
  return { kind: 'file', sandboxId, path };
}

/** A sandbox's file as MCP resource contents: text when it is UTF-8, a base64 blob otherwise. */
export function fileContents(uri: string, path: string, bytes: Uint8Array): Contents {
  const buf = Buffer.from(bytes);
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(buf);
    return { uri, mimeType: mimeOf(path, true), text };
  } catch {
    return { uri, mimeType: mimeOf(path, false), blob: buf.toString('base64') };
  }
}

/**
 * A JSON-RPC error of resources/read: the SDK sends its code, message and data as they are
 * (McpError would put "MCP error <code>:" into the message, and the client adds it again).
 */
export class ResourceError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data: { uri: string; code: string; status?: number },
  ) {
    super(message);
  }
}

/** An API refusal as the protocol error resources/read answers with (not found for foreign ones). */
function protocolError(err: unknown, uri: string): ResourceError {
  if (err instanceof ResourceError) return err;
  if (err instanceof ExecutorError) {
    const data = { code: err.code, status: err.status };
    if (err.status === 404 || err.status === 410)
      return new ResourceError(RESOURCE_NOT_FOUND, `${err.code}: ${err.message}`, { uri, ...data });
    if (err.status === 400 || err.status === 413)
      return new ResourceError(ErrorCode.InvalidParams, `${err.code}: ${err.message}`, { uri, ...data });
    return new ResourceError(ErrorCode.InternalError, `${err.code}: ${err.message}`, { uri, ...data });
  }
  return new ResourceError(
    ErrorCode.InternalError,
    `DEPENDENCY_UNAVAILABLE: the Executor API could not be reached: ${String(err)}`,
    { uri, code: 'DEPENDENCY_UNAVAILABLE' },
  );
}

/**
 * Templates and a sandbox's files as MCP resources, read through the public API with the
 * caller's key like the tools: a sandbox of another tenant is a resource that does not exist.
 */
export class ExecutorResources {
  private readonly executor: Executor;

  constructor(private readonly client: ClientOptions) {
    this.executor = new Executor(client);
  }

  /** The templates, and the root folder of every sandbox this MCP session holds. */
  async list(ownSandboxes: Iterable<string>): Promise<Resource[]> {
    const templates = await this.executor.templates.list().catch((err: unknown) => {
      throw protocolError(err, TEMPLATES_URI);
    });
    return [
      {
        uri: TEMPLATES_URI,
        name: 'templates',
        title: 'Templates',
        description: 'The templates sandboxes can be made from (JSON).',
        mimeType: 'application/json',
      },
      ...templates.map((t) => ({
        uri: `${TEMPLATES_URI}/${encodeURIComponent(t.name)}`,
        name: `template ${t.name}`,
        description: t.description,
        mimeType: 'application/json',
      })),
      ...[...ownSandboxes].map((id) => ({
        uri: `executor://sandboxes/${id}/files`,
        name: `sandbox ${id} files`,
        description: "The root of the sandbox's /workspace (JSON listing).",
        mimeType: 'application/json',
      })),
    ];
  }

  async read(uri: string): Promise<ReadResourceResult> {
    const ref = parseResourceUri(uri);
    if (!ref)
      throw new ResourceError(RESOURCE_NOT_FOUND, `NOT_FOUND: no resource ${uri.slice(0, 200)}`, {
        uri,
        code: 'NOT_FOUND',
      });
    const problem =
      (ref.kind === 'file' || ref.kind === 'folder') && ref.path !== '' ? workspacePathError(ref.path) : null;
    if (problem)
      throw new ResourceError(ErrorCode.InvalidParams, `VALIDATION_ERROR: ${problem}`, {
        uri,
        code: 'VALIDATION_ERROR',
      });
    try {
      return { contents: [await this.contents(uri, ref)] };
    } catch (err) {
      throw protocolError(err, uri);
    }
  }

  private async contents(uri: string, ref: ResourceRef): Promise<Contents> {
    const json = (value: unknown): Contents => ({
      uri,
      mimeType: 'application/json',
      text: JSON.stringify(value, null, 2),
    });
    switch (ref.kind) {
      case 'templates':
        return json(await this.executor.templates.list());
      case 'template':
        return json(await this.executor.templates.get(ref.name));
      case 'folder':
        return json(await Sandbox.connect(ref.sandboxId, this.client).files.list(ref.path));
      case 'file': {
        const bytes = await Sandbox.connect(ref.sandboxId, this.client).files.read(ref.path);
        if (bytes.length > RESOURCE_MAX_BYTES)
          throw new ResourceError(
            ErrorCode.InvalidParams,
            `FILE_TOO_LARGE: ${ref.path} is ${bytes.length} bytes, over the ${RESOURCE_MAX_BYTES} a resource may be: ` +
              'read it with download_file or GET /session/files/download',
            { uri, code: 'FILE_TOO_LARGE' },
          );
        return fileContents(uri, ref.path, bytes);
      }
      default: {
        const never: never = ref;
        return never;
      }
    }
  }
}
