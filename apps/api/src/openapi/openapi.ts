import { validationMetadatasToSchemas } from 'class-validator-jsonschema';

type TransformerStorage = NonNullable<
  Parameters<typeof validationMetadatasToSchemas>[0]
>['classTransformerMetadataStorage'];
// eslint-disable-next-line @typescript-eslint/no-require-imports -- class-transformer exports its storage without types
const { defaultMetadataStorage } = require('class-transformer/cjs/storage') as {
  defaultMetadataStorage: TransformerStorage;
};
import { ErrorCodes, httpStatusFor } from '@executor/contracts';
import { API_VERSION } from '../health/health.controller';

type Schema = Record<string, unknown>;

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const STRING_MAP = { type: 'object', additionalProperties: { type: 'string' } };

/** Request schemas, generated from the class-validator DTOs in libs/contracts. */
function dtoSchemas(): Record<string, Schema> {
  const schemas = validationMetadatasToSchemas({
    refPointerPrefix: '#/components/schemas/',
    classTransformerMetadataStorage: defaultMetadataStorage,
  }) as Record<string, Schema>;
  // Maps validated by custom rules (env, metadata) are objects of strings.
  const fix = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(fix);
    if (node && typeof node === 'object') {
      const o = node as Record<string, unknown>;
      if (o.$ref === '#/components/schemas/Object') return { ...STRING_MAP };
      return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, fix(v)]));
    }
    return node;
  };
  // A subclass that adds no rule of its own has no entry: it is its parent.
  schemas.SessionRefDto ??= schemas.SessionRef;
  return fix(schemas) as Record<string, Schema>;
}

const RESULT: Schema = {
  type: 'object',
  required: [
    'status',
    'exit_code',
    'stdout',
    'stderr',
    'execution_time',
    'results',
    'artifacts',
    'timed_out',
    'oom_killed',
    'truncated',
  ],
  properties: {
    status: { type: 'string', enum: ['success', 'error', 'timeout', 'oom', 'sandbox_died'] },
    execution_id: { type: 'string', format: 'uuid' },
    template: { type: 'string' },
    language: { type: 'string' },
    exit_code: { type: 'integer' },
    stdout: { type: 'string', description: 'Capped at 1 MiB; see truncated.' },
    stderr: { type: 'string' },
    execution_time: { type: 'number', description: 'Seconds.' },
    results: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          data: { type: 'object', description: 'MIME bundle: text/plain, text/html, image/png (base64), …' },
          is_main_result: { type: 'boolean' },
        },
      },
    },
    artifacts: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          type: { type: 'string', description: 'MIME type' },
          name: { type: 'string' },
          content: { type: 'string' },
          encoding: { type: 'string', enum: ['base64', 'utf8'] },
          size: { type: 'integer' },
        },
      },
    },
    error: {
      type: 'object',
      properties: { name: { type: 'string' }, value: { type: 'string' }, traceback: { type: 'string' } },
    },
    timed_out: { type: 'boolean' },
    oom_killed: { type: 'boolean' },
    truncated: { type: 'boolean' },
  },
  example: {
    status: 'success',
    execution_id: '0f8c1a52-1d9e-4c1b-9a0e-4a7f2b3c9d10',
    template: 'default',
    language: 'python',
    exit_code: 0,
    stdout: 'Hello, Sandbox!\n',
    stderr: '',
    execution_time: 0.012,
    results: [],
    artifacts: [],
    timed_out: false,
    oom_killed: false,
    truncated: false,
  },
};

const ERROR: Schema = {
  type: 'object',
  required: ['status', 'error'],
  properties: {
    status: { type: 'string', enum: ['error'] },
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', enum: Object.values(ErrorCodes) },
        message: { type: 'string' },
        retry_after: { type: 'integer', description: 'Seconds; also sent as Retry-After.' },
      },
    },
  },
  example: { status: 'error', error: { code: 'VALIDATION_ERROR', message: 'code should not be empty' } },
};

const OK = (schema: Schema, description = 'Success') => ({
  description,
  content: { 'application/json': { schema } },
});

/** The error responses of an operation, one per HTTP status, naming the codes it may carry. */
function errors(...codes: Array<keyof typeof ErrorCodes>): Record<string, unknown> {
  const byStatus = new Map<number, string[]>();
  for (const name of [
    'ValidationError',
    'InvalidJson',
    ...codes,
    'DependencyUnavailable',
    'DependencyTimeout',
    'InternalError',
  ] as const) {
    const code = ErrorCodes[name];
    const status = httpStatusFor(code);
    byStatus.set(status, [...new Set([...(byStatus.get(status) ?? []), code])]);
  }
  return Object.fromEntries(
    [...byStatus].map(([status, list]) => [
      String(status),
      {
        description: `Error codes: ${list.join(', ')}`,
        content: { 'application/json': { schema: ref('ErrorBody') } },
      },
    ]),
  );
}

const body = (name: string, example?: unknown) => ({
  required: true,
  content: { 'application/json': { schema: ref(name), ...(example ? { example } : {}) } },
});

/** Query parameters from a DTO's schema. */
function query(schemas: Record<string, Schema>, dto: string): unknown[] {
  const s = schemas[dto] as { properties: Record<string, Schema>; required?: string[] };
  return Object.entries(s.properties).map(([name, schema]) => ({
    name,
    in: 'query',
    required: (s.required ?? []).includes(name),
    schema,
  }));
}

const pathParam = (name: string, description: string) => ({
  name,
  in: 'path',
  required: true,
  description,
  schema: { type: 'string' },
});

/** The OpenAPI 3.0 document of the HTTP API, served at /openapi.json. */
export function openApiDocument(): Record<string, unknown> {
  const schemas = dtoSchemas();
  const stream = {
    description:
      'With stream: true (or Accept: application/x-ndjson / text/event-stream): one JSON frame per line as the run goes ({type: stdout|stderr|result|keepalive}), then {type: "done", result}.',
  };
  const obj = { type: 'object' };
  return {
    openapi: '3.0.3',
    info: {
      title: 'Executor',
      version: API_VERSION,
      description:
        'Runs untrusted code in throw-away Docker sandboxes and returns what it printed, drew and wrote. Every error is {status: "error", error: {code, message}}. With API keys configured, send Authorization: Bearer <key> or X-API-Key.',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }, { apiKey: [] }, {}],
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer' },
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
      },
      schemas: { ...schemas, ExecutionResult: RESULT, ErrorBody: ERROR },
    },
    paths: {
      '/health': {
        get: {
          summary: 'Checks of NATS, Docker, the event store and every service',
          security: [],
          responses: { '200': OK(obj, 'Healthy'), '503': OK(obj, 'Degraded: a dependency is down') },
        },
      },
      '/execute': {
        post: {
          summary: 'Run code once in a fresh sandbox',
          requestBody: body('ExecuteRequestDto', {
            tenant_id: 'acme',
            scope: 'chat-1',
            code: "print('Hello, Sandbox!')",
            language: 'python',
            template: 'default',
          }),
          responses: {
            '200': { ...OK(ref('ExecutionResult'), 'The run, also when it failed or timed out'), ...stream },
            ...errors(
              'UnknownTemplate',
              'NotFound',
              'UnsupportedLanguage',
              'UnsupportedRuntime',
              'PayloadTooLarge',
              'UnsupportedMediaType',
              'Unauthenticated',
              'Forbidden',
              'RateLimited',
              'ConcurrencyLimit',
              'QuotaExceeded',
              'ImageNotReady',
              'SandboxError',
              'ReplyTooLarge',
            ),
          },
        },
      },
      '/session/create': {
        post: {
          summary: 'Create a session, or reuse the live one of the same tenant, scope and template',
          requestBody: body('SessionCreateDto', {
            tenant_id: 'acme',
            scope: 'chat-1',
            template: 'python-data',
            ttl: 600,
          }),
          responses: {
            '200': OK(obj),
            ...errors(
              'UnknownTemplate',
              'NotFound',
              'SessionLimit',
              'Unauthenticated',
              'Forbidden',
              'ImageNotReady',
            ),
          },
        },
      },
      '/session/execute': {
        post: {
          summary: 'Run code in a session: variables and files persist',
          requestBody: body('SessionExecuteDto', {
            session_id: '5b0e1c1e-2f7a-4a43-9d3b-8d5f0f3c2a11',
            code: 'x = 41\nx + 1',
          }),
          responses: {
            '200': { ...OK(ref('ExecutionResult')), ...stream },
            ...errors(
              'SessionNotFound',
              'SessionExpired',
              'SessionDestroyed',
              'SessionLost',
              'NotFound',
              'ReplyTooLarge',
              'UnsupportedLanguage',
              'RateLimited',
              'ConcurrencyLimit',
              'QuotaExceeded',
              'Unauthenticated',
              'Forbidden',
            ),
          },
        },
      },
      '/session/destroy': {
        post: {
          summary: 'Destroy a session and its sandbox',
          requestBody: body('SessionRefDto'),
          responses: {
            '200': OK(obj),
            ...errors('SessionNotFound', 'SessionExpired', 'SessionDestroyed', 'SessionLost'),
          },
        },
      },
      '/session/{id}': {
        get: {
          summary: 'One session: state, template, created, last used, expires, executions',
          parameters: [pathParam('id', 'session id'), ...query(schemas, 'OptionalTenantQueryDto')],
          responses: { '200': OK(obj), ...errors('SessionNotFound') },
        },
      },
      '/sessions': {
        get: {
          summary: "A tenant's sessions",
          parameters: query(schemas, 'SessionListQueryDto'),
          responses: { '200': OK(obj), ...errors() },
        },
      },
      '/session/files/upload': {
        post: {
          summary: "Write a file into a session's /workspace (JSON, or multipart with a file part)",
          requestBody: {
            required: true,
            content: {
              'application/json': { schema: ref('SessionFileUploadDto') },
              'multipart/form-data': {
                schema: {
                  type: 'object',
                  required: ['session_id', 'file'],
                  properties: {
                    session_id: { type: 'string' },
                    path: { type: 'string' },
                    tenant_id: { type: 'string' },
                    file: { type: 'string', format: 'binary' },
                  },
                },
              },
            },
          },
          responses: {
            '200': OK(obj),
            ...errors('FileRefused', 'PayloadTooLarge', 'SessionNotFound', 'SessionExpired', 'SessionLost'),
          },
        },
      },
      '/session/files/download': {
        get: {
          summary: 'Read a file: its bytes with their content type, or base64 in JSON (format=json)',
          parameters: query(schemas, 'SessionDownloadQueryDto'),
          responses: {
            '200': {
              description: 'The file',
              content: {
                'application/octet-stream': { schema: { type: 'string', format: 'binary' } },
                'application/json': { schema: obj },
              },
            },
            ...errors('FileNotFound', 'FileRefused', 'SessionNotFound'),
          },
        },
      },
      '/session/files/list': {
        get: {
          summary: 'List a folder',
          parameters: query(schemas, 'SessionDirDto'),
          responses: { '200': OK(obj), ...errors('FileNotFound', 'FileRefused', 'SessionNotFound') },
        },
      },
      '/session/files/delete': {
        post: {
          summary: 'Delete a file or folder',
          requestBody: body('SessionFilePathDto'),
          responses: { '200': OK(obj), ...errors('FileNotFound', 'FileRefused', 'SessionNotFound') },
        },
      },
      '/session/files/mkdir': {
        post: {
          summary: 'Make a folder',
          requestBody: body('SessionFilePathDto'),
          responses: { '200': OK(obj), ...errors('FileRefused', 'SessionNotFound') },
        },
      },
      '/session/contexts/create': {
        post: {
          summary:
            "Start another kernel (a context) in a session's sandbox: its own variables, the same /workspace",
          requestBody: body('ContextCreateDto'),
          responses: {
            '200': OK(obj),
            ...errors(
              'UnsupportedLanguage',
              'QuotaExceeded',
              'SessionNotFound',
              'SessionExpired',
              'SessionLost',
            ),
          },
        },
      },
      '/session/contexts/list': {
        get: {
          summary: "A session's contexts",
          parameters: query(schemas, 'SessionRefDto'),
          responses: { '200': OK(obj), ...errors('SessionNotFound', 'SessionExpired', 'SessionLost') },
        },
      },
      '/session/contexts/restart': {
        post: {
          summary: 'Restart a context: same id, its variables gone',
          requestBody: body('ContextRefDto'),
          responses: { '200': OK(obj), ...errors('NotFound', 'SessionNotFound') },
        },
      },
      '/session/contexts/delete': {
        post: {
          summary: "Remove a context (not the session's first one)",
          requestBody: body('ContextRefDto'),
          responses: { '200': OK(obj), ...errors('NotFound', 'ValidationError', 'SessionNotFound') },
        },
      },
      '/templates': {
        get: { summary: 'All templates with image status', responses: { '200': OK(obj), ...errors() } },
        post: {
          summary: 'Register a custom template; its image builds in the background',
          requestBody: body('RegisterTemplateDto', {
            name: 'node-lodash',
            base: 'node-basic',
            packages: { npm: ['lodash'] },
          }),
          responses: {
            '201': OK(obj, 'Registered'),
            ...errors(
              'BuiltinTemplate',
              'TemplateExists',
              'NetworkNotAllowed',
              'ValidationError',
              'QuotaExceeded',
            ),
          },
        },
      },
      '/templates/{name}': {
        get: {
          summary: 'One template',
          parameters: [pathParam('name', 'template name')],
          responses: { '200': OK(obj), ...errors('NotFound') },
        },
        delete: {
          summary: 'Remove a custom template',
          parameters: [pathParam('name', 'template name')],
          responses: {
            '200': OK(obj),
            ...errors('BuiltinTemplate', 'UnknownTemplate', 'NotFound', 'Forbidden'),
          },
        },
      },
      '/metrics': {
        get: { summary: 'Metrics projected from the event log', responses: { '200': OK(obj), ...errors() } },
      },
      '/metrics/prometheus': {
        get: {
          summary: 'Prometheus text exposition',
          responses: {
            '200': {
              description: 'text/plain; version=0.0.4',
              content: { 'text/plain': { schema: { type: 'string' } } },
            },
          },
        },
      },
      '/admin/events': {
        get: {
          summary: 'Admin query of the event store (admin key, or loopback without keys)',
          parameters: query(schemas, 'AdminEventsQueryDto'),
          responses: { '200': OK(obj), ...errors('Forbidden', 'Unauthenticated') },
        },
      },
      '/admin/streams/{id}': {
        get: {
          summary: 'The whole history of one stream',
          parameters: [pathParam('id', 'stream id, e.g. session-<uuid>')],
          responses: { '200': OK(obj), ...errors('NotFound', 'Forbidden') },
        },
      },
    },
  };
}
