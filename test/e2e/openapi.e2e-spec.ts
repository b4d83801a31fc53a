import SwaggerParser from '@apidevtools/swagger-parser';
import { RequestMethod, type INestApplication } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { DiscoveryService, MetadataScanner, ModulesContainer, NestFactory } from '@nestjs/core';
import { DECORATORS } from '@nestjs/swagger';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { loadConfig, observedService } from '@executor/common';
import { ApiConfig } from '../../apps/api/src/api.config';
import { ApiModule } from '../../apps/api/src/api.module';
import { apiDocument } from '../../apps/api/src/openapi/api-docs';
import { stackInfo } from './client';

interface Schema {
  $ref?: string;
  type?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  items?: Schema;
  oneOf?: Schema[];
  anyOf?: Schema[];
  allOf?: Schema[];
}
interface Operation {
  responses: Record<string, { description: string; content?: Record<string, { schema?: Schema }> }>;
}
interface Document {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}

/**
 * Every route Nest maps, read from the controllers' own metadata (the decorators Nest's router
 * reads), as `METHOD /openapi/{path}`. A controller or handler excluded from the document on
 * purpose (@ApiExcludeController, @ApiExcludeEndpoint) is left out.
 */
function nestRoutes(app: INestApplication): string[] {
  const discovery = new DiscoveryService(app.get(ModulesContainer));
  const scanner = new MetadataScanner();
  const paths = (value: unknown): string[] => (Array.isArray(value) ? (value as string[]) : [String(value)]);
  return discovery.getControllers().flatMap(({ metatype, instance }) => {
    if (!metatype || !instance) return [];
    if ((Reflect.getMetadata(DECORATORS.API_EXCLUDE_CONTROLLER, metatype) as [boolean] | undefined)?.[0])
      return [];
    const bases = paths(Reflect.getMetadata(PATH_METADATA, metatype) ?? '/');
    const prototype = Object.getPrototypeOf(instance) as Record<string, unknown>;
    return scanner.getAllMethodNames(prototype).flatMap((name) => {
      const handler = prototype[name] as object;
      const own = Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined;
      if (own === undefined) return [];
      if ((Reflect.getMetadata(DECORATORS.API_EXCLUDE_ENDPOINT, handler) as { disable?: boolean })?.disable)
        return [];
      const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod];
      return bases.flatMap((base) =>
        paths(own).map((p) => {
          const full = `/${[base, p].join('/')}`.replace(/\/+/g, '/').replace(/(.)\/$/, '$1');
          return `${method} ${full.replace(/:(\w+)/g, '{$1}')}`;
        }),
      );
    });
  });
}

/** Where a schema says nothing about its shape: an object without properties or a map, or no type at all. */
function untyped(doc: Document, schema: Schema | undefined, at: string, seen = new Set<string>()): string[] {
  if (!schema) return [`${at}: no schema`];
  if (schema.$ref) {
    if (seen.has(schema.$ref)) return [];
    const name = schema.$ref.replace('#/components/schemas/', '');
    return untyped(doc, doc.components.schemas[name], name, new Set(seen).add(schema.$ref));
  }
  const union = schema.oneOf ?? schema.anyOf ?? schema.allOf;
  if (union) return union.flatMap((s, i) => untyped(doc, s, `${at}[${i}]`, seen));
  switch (schema.type) {
    case 'object': {
      const props = Object.entries(schema.properties ?? {});
      const map = schema.additionalProperties;
      if (props.length === 0 && map === undefined) return [`${at}: a bare object`];
      return [
        ...props.flatMap(([k, s]) => untyped(doc, s, `${at}.${k}`, seen)),
        ...(typeof map === 'object' ? untyped(doc, map, `${at}{}`, seen) : []),
      ];
    }
    case 'array':
      return untyped(doc, schema.items, `${at}[]`, seen);
    case 'string':
    case 'number':
    case 'integer':
    case 'boolean':
      return [];
    default:
      return [`${at}: no type`];
  }
}

/** Objects that list their properties allow no others: a field the document does not describe fails. */
function closeObjects(node: unknown): void {
  if (!node || typeof node !== 'object') return;
  const s = node as Schema;
  if (s.type === 'object' && s.properties && s.additionalProperties === undefined)
    s.additionalProperties = false;
  Object.values(node).forEach(closeObjects);
}

const api = stackInfo().apiUrl;

describe('OpenAPI', () => {
  let app: INestApplication;
  let served: Document;
  let resolved: Document;
  const checked = new Set<string>();

  beforeAll(async () => {
    const res = await fetch(`${api}/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    served = (await res.json()) as Document;
    resolved = (await SwaggerParser.dereference(structuredClone(served) as never)) as unknown as Document;
    closeObjects(resolved);
    // The same application the stack runs, built here only to read Nest's route metadata.
    const config = loadConfig(ApiConfig, { NATS_URL: stackInfo().natsUrl });
    app = await NestFactory.create(observedService('api', ApiModule.forRoot(config)), { logger: false });
  });

  afterAll(async () => {
    await app?.close();
  });

  /** Asserts that a real response matches what the document says this route answers with this status. */
  function expectDocumented(route: string, status: number, body: unknown, mime = 'application/json'): void {
    const [method, path] = route.split(' ');
    const response = resolved.paths[path]?.[method.toLowerCase()]?.responses[String(status)];
    if (!response) throw new Error(`${route} answered ${status}, which the document does not list`);
    const schema = response.content?.[mime]?.schema;
    if (!schema) throw new Error(`${route} ${status}: no ${mime} schema`);
    const result = z.fromJSONSchema(schema as never, { defaultTarget: 'openapi-3.0' }).safeParse(body);
    if (!result.success) {
      const issues = result.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
      throw new Error(`${route} ${status} does not match the document:\n${issues.join('\n')}`);
    }
    if (status < 300) checked.add(route);
  }

  async function call(
    route: string,
    init: { query?: Record<string, string>; body?: unknown; pathValues?: Record<string, string> } = {},
  ): Promise<{ status: number; body: unknown }> {
    const [method, template] = route.split(' ');
    const path = template.replace(/\{(\w+)\}/g, (_, k: string) =>
      encodeURIComponent(init.pathValues?.[k] ?? ''),
    );
    const query = init.query ? `?${new URLSearchParams(init.query).toString()}` : '';
    const res = await fetch(`${api}${path}${query}`, {
      method,
      headers: init.body === undefined ? {} : { 'content-type': 'application/json' },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    const body: unknown = await res.json();
    expectDocumented(route, res.status, body);
    return { status: res.status, body };
  }

  it('is generated from this code and validates as OpenAPI', async () => {
    expect(served).toEqual(JSON.parse(JSON.stringify(apiDocument(app))));
    await SwaggerParser.validate(structuredClone(served) as never);
  });

  it('has every route Nest maps, each with a typed success response and the error table', () => {
    const routes = nestRoutes(app);
    expect(routes.length).toBeGreaterThanOrEqual(24);
    const documented = Object.entries(served.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect([...documented].sort()).toEqual([...new Set(routes)].sort());
    for (const route of routes) {
      const [method, path] = route.split(' ');
      const responses = served.paths[path][method.toLowerCase()].responses;
      const success = Object.entries(responses).filter(([status]) => /^2\d\d$/.test(status));
      expect({ route, success: success.length }).toEqual({ route, success: 1 });
      for (const [status, response] of success) {
        const contents = Object.entries(response.content ?? {});
        expect({ route, status, contents: contents.length > 0 }).toEqual({ route, status, contents: true });
        for (const [mime, media] of contents) {
          expect(untyped(served, media.schema, `${route} ${status} ${mime}`)).toEqual([]);
        }
      }
      // Errors: the shared body, described by the codes of the error table that map to each status.
      if (route === 'GET /health' || route === 'GET /readyz') continue; // their 503 is their own body
      const errors = Object.entries(responses)
        .filter(([status]) => /^[45]\d\d$/.test(status))
        .map(([, response]) => response);
      expect({ route, errors: errors.length > 0 }).toEqual({ route, errors: true });
      for (const response of errors) {
        expect(response.content?.['application/json']?.schema).toEqual({
          $ref: '#/components/schemas/ErrorBodyDto',
        });
        expect(response.description).toMatch(/^Error codes: [A-Z_]+(, [A-Z_]+)*$/);
      }
    }
    const executeErrors = Object.values(served.paths['/execute'].post.responses)
      .map((r) => r.description)
      .join(' ');
    for (const code of [
      'VALIDATION_ERROR',
      'UNKNOWN_TEMPLATE',
      'RATE_LIMITED',
      'IMAGE_NOT_READY',
      'PAYLOAD_TOO_LARGE',
    ])
      expect(executeErrors).toContain(code);
    expect(served.paths['/execute'].post.responses['429'].description).toBe(
      'Error codes: RATE_LIMITED, CONCURRENCY_LIMIT, QUOTA_EXCEEDED',
    );
  });

  it('describes what every route really answers', async () => {
    const tenant = `openapi-${randomUUID().slice(0, 8)}`;
    const health = await fetch(`${api}/health`);
    expectDocumented('GET /health', health.status, await health.json());
    for (const probe of ['livez', 'readyz']) {
      const res = await fetch(`${api}/${probe}`);
      expectDocumented(`GET /${probe}`, res.status, await res.json());
    }

    const run = await call('POST /execute', {
      body: {
        tenant_id: tenant,
        code: "print('hi')\nopen('out.txt', 'w').write('x')\n1/0",
        language: 'python',
      },
    });
    expect(run.status).toBe(200);
    expect(run.body).toMatchObject({ status: 'error', error: { name: 'ZeroDivisionError' } });

    const streamed = await fetch(`${api}/execute`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tenant_id: tenant, code: "print('a')\n6*7", stream: true }),
    });
    expect(streamed.headers.get('content-type')).toContain('application/x-ndjson');
    const frames = (await streamed.text()).trim().split('\n');
    for (const line of frames)
      expectDocumented('POST /execute', 200, JSON.parse(line), 'application/x-ndjson');
    expect(JSON.parse(frames[frames.length - 1])).toMatchObject({ type: 'done' });

    const created = await call('POST /session/create', {
      body: { tenant_id: tenant, scope: 'openapi', reuse: false, ttl: 120 },
    });
    expect(created.status).toBe(200);
    const session_id = (created.body as { session_id: string }).session_id;
    const ref = { session_id, tenant_id: tenant };
    expect((await call('POST /session/execute', { body: { ...ref, code: 'x = 41\nx + 1' } })).status).toBe(
      200,
    );
    expect(
      (await call('GET /session/{id}', { pathValues: { id: session_id }, query: { tenant_id: tenant } }))
        .status,
    ).toBe(200);
    expect((await call('GET /sessions', { query: { tenant_id: tenant } })).status).toBe(200);

    const file = { ...ref, path: 'notes/a.txt', content: 'hello' };
    expect((await call('POST /session/files/mkdir', { body: { ...ref, path: 'notes' } })).status).toBe(200);
    expect((await call('POST /session/files/upload', { body: file })).status).toBe(200);
    expect((await call('GET /session/files/list', { query: { ...ref, path: 'notes' } })).status).toBe(200);
    const download = await call('GET /session/files/download', {
      query: { ...ref, path: file.path, format: 'json' },
    });
    expect(download.body).toMatchObject({ content: Buffer.from('hello').toString('base64') });
    expect((await call('POST /session/files/delete', { body: { ...ref, path: file.path } })).status).toBe(
      200,
    );
    const missing = await call('GET /session/files/download', {
      query: { ...ref, path: file.path, format: 'json' },
    });
    expect(missing.status).toBe(404);

    const context = await call('POST /session/contexts/create', { body: { ...ref, language: 'python' } });
    expect(context.status).toBe(200);
    const context_id = (context.body as { context: { id: string } }).context.id;
    expect((await call('GET /session/contexts/list', { query: ref })).status).toBe(200);
    expect((await call('POST /session/contexts/restart', { body: { ...ref, context_id } })).status).toBe(200);
    expect((await call('POST /session/contexts/delete', { body: { ...ref, context_id } })).status).toBe(200);

    const history = await call('GET /admin/streams/{id}', { pathValues: { id: `session-${session_id}` } });
    expect(history.status).toBe(200);
    expect((await call('GET /admin/events', { query: { tenant: tenant, limit: '5' } })).status).toBe(200);
    expect((await call('POST /session/destroy', { body: ref })).status).toBe(200);
    expect((await call('POST /session/destroy', { body: ref })).status).toBe(410);

    expect((await call('GET /templates')).status).toBe(200);
    expect((await call('GET /templates/{name}', { pathValues: { name: 'default' } })).status).toBe(200);
    const name = `oa-${randomUUID().slice(0, 8)}`;
    expect((await call('POST /templates', { body: { name, base: 'minimal' } })).status).toBe(201);
    expect((await call('DELETE /templates/{name}', { pathValues: { name } })).status).toBe(200);
    expect((await call('DELETE /templates/{name}', { pathValues: { name } })).status).toBe(404);

    expect((await call('GET /metrics')).status).toBe(200);
    const prometheus = await fetch(`${api}/metrics/prometheus`);
    expect(prometheus.headers.get('content-type')).toContain('text/plain');
    expectDocumented('GET /metrics/prometheus', prometheus.status, await prometheus.text(), 'text/plain');

    // The live event stream: read up to its first event (one of the runs above), then hang up.
    const events = new AbortController();
    const sse = await fetch(`${api}/events/stream?after=0&type=ExecutionFinished`, { signal: events.signal });
    expect(sse.headers.get('content-type')).toContain('text/event-stream');
    const reader = (sse.body as ReadableStream<Uint8Array>).getReader();
    let sseText = '';
    while (!/\ndata: .*\n\n/.test(sseText)) sseText += new TextDecoder().decode((await reader.read()).value);
    events.abort();
    expectDocumented('GET /events/stream', sse.status, sseText, 'text/event-stream');

    // Bad input answers with the error body the document names.
    expect((await call('POST /execute', { body: { tenant_id: tenant } })).status).toBe(400);
    expect((await call('GET /session/{id}', { pathValues: { id: randomUUID() } })).status).toBe(404);

    expect([...checked].sort()).toEqual([...new Set(nestRoutes(app))].sort());
  });

  it('serves Swagger UI at /docs with its own assets', async () => {
    const page = await fetch(`${api}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const html = await page.text();
    // helmet's script-src 'self' allows only scripts loaded from this origin.
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
    const scripts = [...html.matchAll(/<script src="([^"]+)"/g)].map((m) => m[1]);
    expect(scripts).toEqual(expect.arrayContaining([expect.stringContaining('swagger-ui-bundle.js')]));
    for (const src of scripts) {
      const asset = await fetch(new URL(src, `${api}/docs`));
      expect({ src, status: asset.status }).toEqual({ src, status: 200 });
      expect(asset.headers.get('content-type')).toContain('javascript');
    }
    // Where the UI's files were before.
    const old = await fetch(`${api}/docs/assets/swagger-ui-bundle.js`);
    expect(old.status).toBe(200);
    expect(old.url).toBe(`${api}/docs/swagger-ui-bundle.js`);
  });
});
