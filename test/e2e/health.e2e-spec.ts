import { get } from './client';

describe('GET /health and GET /templates', () => {
  it('reports every dependency healthy', async () => {
    const res = await get<{
      status: string;
      service: string;
      version: string;
      checks: Record<string, { status: string }>;
    }>('/health');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'healthy', service: 'executor-api' });
    for (const name of ['nats', 'docker', 'event_store', 'runner']) {
      expect(res.body.checks[name]?.status).toBe('healthy');
    }
  });

  it('lists the default template with its image ready', async () => {
    const res = await get<{ status: string; templates: Array<Record<string, unknown>> }>('/templates');
    expect(res.status).toBe(200);
    const def = res.body.templates.find((t) => t.name === 'default');
    expect(def).toMatchObject({
      languages: ['python', 'bash'],
      memory_limit: '512m',
      network: false,
      image_status: 'ready',
    });
  });
});
