import { get, post } from './client';

interface ErrorBody {
  status: string;
  error: { code: string; message: string };
}

async function expectError(
  reply: Promise<{ status: number; body: ErrorBody }>,
  status: number,
  code: string,
  messagePart?: string,
): Promise<void> {
  const res = await reply;
  expect(res.status).toBe(status);
  expect(res.body.status).toBe('error');
  expect(res.body.error.code).toBe(code);
  if (messagePart) expect(res.body.error.message).toContain(messagePart);
  expect(JSON.stringify(res.body)).not.toMatch(/at .*\.js:\d+|node_modules/);
}

describe('bad input gets a clear 4xx and the service keeps serving', () => {
  it('missing fields', async () => {
    await expectError(post<ErrorBody>('/execute', {}), 400, 'VALIDATION_ERROR', 'tenant_id');
    await expectError(post<ErrorBody>('/execute', { tenant_id: 't' }), 400, 'VALIDATION_ERROR', 'code');
  });

  it('wrong types', async () => {
    const wrong: Array<[body: Record<string, unknown>, field: string]> = [
      [{ tenant_id: 5, code: 'print(1)' }, 'tenant_id'],
      [{ tenant_id: 't', code: ['x'] }, 'code'],
      [{ tenant_id: 't', code: 'print(1)', timeout: 'soon' }, 'timeout'],
      [{ tenant_id: 't', code: 'print(1)', files: 'a.txt' }, 'files'],
    ];
    for (const [body, field] of wrong) {
      await expectError(post<ErrorBody>('/execute', body), 400, 'VALIDATION_ERROR', field);
    }
  });

  it('unknown fields', async () => {
    await expectError(
      post<ErrorBody>('/execute', { tenant_id: 't', code: '1', sudo: true }),
      400,
      'VALIDATION_ERROR',
      'sudo',
    );
  });

  it('unknown template and unsupported language', async () => {
    await expectError(
      post<ErrorBody>('/execute', { tenant_id: 't', code: 'print(1)', template: 'no-such-template' }),
      400,
      'UNKNOWN_TEMPLATE',
      'no-such-template',
    );
    await expectError(
      post<ErrorBody>('/execute', { tenant_id: 't', code: 'puts 1', language: 'ruby' }),
      400,
      'UNSUPPORTED_LANGUAGE',
      'python',
    );
  });

  it('a non-JSON body, a JSON array, and a wrong content type', async () => {
    await expectError(post<ErrorBody>('/execute', null, { raw: 'this is { not json' }), 400, 'INVALID_JSON');
    await expectError(post<ErrorBody>('/execute', [1, 2]), 400, 'INVALID_JSON');
    await expectError(
      post<ErrorBody>('/execute', null, { raw: 'code=1', contentType: 'text/plain' }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
  });

  it('a 10 MB code string', async () => {
    const res = await post<ErrorBody>('/execute', { tenant_id: 't', code: 'x'.repeat(10 * 1024 * 1024) });
    expect([400, 413]).toContain(res.status);
    expect(res.body.error.message).toMatch(/code must be at most|larger than the limit/);
  });

  it('a body over the limit', async () => {
    const res = await post<ErrorBody>('/execute', {
      tenant_id: 't',
      code: 'x',
      pad: 'y'.repeat(30 * 1024 * 1024),
    });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('hostile file paths', async () => {
    for (const path of ['../../etc/passwd', '/etc/passwd', 'a\u0000b', 'x.sh', 'a/../b', '.bashrc']) {
      await expectError(
        post<ErrorBody>('/execute', { tenant_id: 't', code: 'print(1)', files: [{ path, content: 'x' }] }),
        400,
        'VALIDATION_ERROR',
        'path',
      );
    }
  });

  it('an unknown route', async () => {
    const res = await get<ErrorBody>('/nope');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('NOT_FOUND');
  });

  it('still serves after all of that', async () => {
    const health = await get<{ status: string }>('/health');
    expect(health.status).toBe(200);
    const res = await post<{ stdout: string }>('/execute', { tenant_id: 't', code: 'print(6*7)' });
    expect(res.body.stdout).toBe('42\n');
  });
});
