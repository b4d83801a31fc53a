import SwaggerParser from '@apidevtools/swagger-parser';
import { stackInfo } from './client';

describe('OpenAPI', () => {
  it('serves a document that validates, with every endpoint and error code', async () => {
    const res = await fetch(`${stackInfo().apiUrl}/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as {
      paths: Record<string, Record<string, { responses: Record<string, { description: string }> }>>;
      components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
    };
    await SwaggerParser.validate(structuredClone(doc) as never);
    const routes = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    for (const route of [
      'GET /health',
      'POST /execute',
      'POST /session/create',
      'POST /session/execute',
      'POST /session/destroy',
      'GET /session/{id}',
      'GET /sessions',
      'POST /session/files/upload',
      'GET /session/files/download',
      'GET /session/files/list',
      'POST /session/files/delete',
      'POST /session/files/mkdir',
      'POST /session/contexts/create',
      'GET /session/contexts/list',
      'POST /session/contexts/restart',
      'POST /session/contexts/delete',
      'GET /templates',
      'POST /templates',
      'GET /templates/{name}',
      'DELETE /templates/{name}',
      'GET /metrics',
      'GET /metrics/prometheus',
      'GET /admin/events',
      'GET /admin/streams/{id}',
    ]) {
      expect(routes).toContain(route);
    }
    // Request fields come from the DTOs themselves.
    expect(Object.keys(doc.components.schemas.ExecuteRequestDto.properties ?? {})).toEqual(
      expect.arrayContaining([
        'tenant_id',
        'scope',
        'code',
        'language',
        'template',
        'files',
        'timeout',
        'env',
        'stream',
      ]),
    );
    const executeErrors = Object.values(doc.paths['/execute'].post.responses)
      .map((r) => r.description)
      .join(' ');
    for (const code of [
      'VALIDATION_ERROR',
      'UNKNOWN_TEMPLATE',
      'RATE_LIMITED',
      'IMAGE_NOT_READY',
      'PAYLOAD_TOO_LARGE',
    ]) {
      expect(executeErrors).toContain(code);
    }
  });

  it('serves a docs page with its own assets', async () => {
    const page = await fetch(`${stackInfo().apiUrl}/docs`);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('swagger-ui-bundle.js');
    const asset = await fetch(`${stackInfo().apiUrl}/docs/assets/swagger-ui-bundle.js`);
    expect(asset.status).toBe(200);
  });
});
