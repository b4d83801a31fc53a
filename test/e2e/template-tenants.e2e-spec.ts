import Database from 'better-sqlite3';
import Docker from 'dockerode';
import { randomUUID } from 'node:crypto';
import { Stack, waitFor } from '../../scripts/lib/stack';

interface Summary {
  name: string;
  image: string;
  image_status: string;
  memory_limit: string;
  cpu_limit: number;
  pids_limit: number;
  timeout: number;
  tenant_id?: string;
}
interface Reply {
  error: { code: string; message: string };
  template: Summary;
  templates: Summary[];
  status: string;
  stdout: string;
  session_id: string;
}

const KEY = { a: 'key-a', b: 'key-b', admin: 'key-admin' };
const CAPS = {
  MAX_TEMPLATE_MEMORY: '1g',
  MAX_TEMPLATE_CPUS: '1',
  MAX_TEMPLATE_PIDS: '200',
  MAX_TIMEOUT_S: '60',
  MAX_TEMPLATES_PER_TENANT: '3',
};

/**
 * A stack of its own with API keys and caps lower than some built-ins: every template is held
 * to the operator's caps, and a custom template is its tenant's alone.
 */
describe('template caps and owners', () => {
  let stack: Stack;
  const token = randomUUID().slice(0, 8);
  const images = new Set<string>();

  beforeAll(async () => {
    stack = await Stack.create({
      EXECUTOR_API_KEYS: `ta:tenant:${KEY.a},tb:tenant:${KEY.b},ops:admin:${KEY.admin}`,
      POOL_SIZES: 'default=1',
      ...CAPS,
    });
    await stack.start();
  });

  afterAll(async () => {
    await stack?.stop();
    for (const image of images)
      await new Docker()
        .getImage(image)
        .remove({ force: true })
        .catch(() => undefined);
  });

  async function call(path: string, key: string, init: { body?: unknown; method?: string } = {}) {
    const res = await fetch(`${stack.info.apiUrl}${path}`, {
      method: init.method ?? (init.body !== undefined ? 'POST' : 'GET'),
      headers: {
        authorization: `Bearer ${key}`,
        ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
    });
    return { status: res.status, body: (await res.json()) as Reply };
  }

  async function register(key: string, body: Record<string, unknown>) {
    const res = await call('/templates', key, { body: { base: 'minimal', ...body } });
    if (res.status === 201) images.add(res.body.template.image);
    return res;
  }

  const ready = (name: string, key: string) =>
    waitFor(
      async () => (await call(`/templates/${name}`, key)).body.template.image_status === 'ready',
      60000,
      `the image of ${name}`,
    );

  describe('caps', () => {
    it('holds built-ins over a cap to it, and leaves the others as they are', async () => {
      const { body } = await call('/templates', KEY.admin);
      const byName = Object.fromEntries(body.templates.map((t) => [t.name, t]));
      expect(byName['python-ml']).toMatchObject({
        memory_limit: '1g',
        cpu_limit: 1,
        pids_limit: 200,
        timeout: 60,
      });
      expect(byName['python-data']).toMatchObject({
        memory_limit: '1g',
        cpu_limit: 1,
        pids_limit: 200,
        timeout: 60,
      });
      expect(byName.default).toMatchObject({
        memory_limit: '512m',
        cpu_limit: 1,
        pids_limit: 128,
        timeout: 30,
      });
    });

    it.each([
      [{ memory_limit: '1025m' }, 'memory_limit: 1025m is over the cap MAX_TEMPLATE_MEMORY=1g'],
      [{ memory_limit: '99999g' }, 'memory_limit: 99999g is over the cap MAX_TEMPLATE_MEMORY=1g'],
      [{ cpu_limit: 1.5 }, 'cpu_limit: 1.5 is over the cap MAX_TEMPLATE_CPUS=1'],
      [{ pids_limit: 201 }, 'pids_limit: 201 is over the cap MAX_TEMPLATE_PIDS=200'],
      [{ timeout: 61 }, 'timeout: 61 is over the cap MAX_TIMEOUT_S=60'],
    ])('refuses %j with a 400 naming the field and the cap', async (limits, message) => {
      const res = await register(KEY.a, { name: `over-${token}`, ...limits });
      expect(res.status).toBe(400);
      expect(res.body.error).toEqual({ code: 'VALIDATION_ERROR', message });
    });

    it("refuses the tester's template (99999g, 3600 s), naming both fields", async () => {
      const res = await register(KEY.a, {
        name: 'x1',
        memory_limit: '99999g',
        cpu_limit: 2,
        timeout: 3600,
        setup_commands: ['id -u > /opt/u'],
      });
      expect(res.status).toBe(400);
      expect(res.body.error.message).toMatch(
        /^memory_limit: .*MAX_TEMPLATE_MEMORY=1g; cpu_limit: .*; timeout: .*MAX_TIMEOUT_S=60$/,
      );
      expect((await call('/templates/x1', KEY.admin)).status).toBe(404);
    });

    it('accepts a template at every cap, and its sandbox gets exactly those limits', async () => {
      const name = `at-caps-${token}`;
      const res = await register(KEY.a, {
        name,
        memory_limit: '1g',
        cpu_limit: 1,
        pids_limit: 200,
        timeout: 60,
      });
      expect(res.status).toBe(201);
      expect(res.body.template).toMatchObject({
        memory_limit: '1g',
        cpu_limit: 1,
        pids_limit: 200,
        timeout: 60,
      });
      await ready(name, KEY.a);
      const run = await call('/execute', KEY.a, {
        body: {
          template: name,
          code: [
            'for f in ["memory/memory.limit_in_bytes", "pids/pids.max", "cpu/cpu.cfs_quota_us"]:',
            '    print(open("/sys/fs/cgroup/" + f).read().strip())',
          ].join('\n'),
        },
      });
      expect(run.body).toMatchObject({ status: 'success', stdout: '1073741824\n200\n100000\n' });
    }, 90000);
  });

  describe('owners', () => {
    const own = `own-${token}`;
    const shared = `shared-${token}`;

    beforeAll(async () => {
      expect((await register(KEY.a, { name: own })).status).toBe(201);
      expect((await register(KEY.admin, { name: shared })).status).toBe(201);
    });

    it('records the owner as the tenant_id of the TemplateRegistered event; a shared one has none', () => {
      const db = new Database(stack.info.dbPath, { readonly: true });
      try {
        const owner = (stream: string) =>
          (
            db
              .prepare("SELECT tenant_id FROM events WHERE stream_id = ? AND type = 'TemplateRegistered'")
              .get(stream) as { tenant_id: string | null }
          ).tenant_id;
        expect(owner(`template-${own}`)).toBe('ta');
        expect(owner(`template-${shared}`)).toBeNull();
      } finally {
        db.close();
      }
    });

    it('shows a tenant its own and shared templates; another tenant does not see or get it', async () => {
      const mine = await call(`/templates/${own}`, KEY.a);
      expect(mine.status).toBe(200);
      expect(mine.body.template.tenant_id).toBe('ta');
      const listA = (await call('/templates', KEY.a)).body.templates.map((t) => t.name);
      expect(listA).toEqual(expect.arrayContaining([own, shared, 'default']));

      const foreign = await call(`/templates/${own}`, KEY.b);
      expect(foreign.status).toBe(404);
      expect(foreign.body.error).toEqual({ code: 'NOT_FOUND', message: `template "${own}" not found` });
      const listB = (await call('/templates', KEY.b)).body.templates.map((t) => t.name);
      expect(listB).toContain(shared);
      expect(listB).not.toContain(own);
      // Neither in an unknown name's list of known templates.
      const unknown = await call(`/templates/none-${token}`, KEY.b);
      expect(unknown.status).toBe(404);
      expect(unknown.body.error.message).not.toContain(own);
    });

    it("answers 404 to another tenant's /execute and /session/create with it, and runs its owner's", async () => {
      await ready(own, KEY.a);
      const run = await call('/execute', KEY.b, { body: { template: own, code: 'print(1)' } });
      expect(run.status).toBe(404);
      expect(run.body.error.code).toBe('NOT_FOUND');
      const session = await call('/session/create', KEY.b, { body: { scope: 's', template: own } });
      expect(session.status).toBe(404);
      expect(session.body.error.code).toBe('NOT_FOUND');

      const ownRun = await call('/execute', KEY.a, { body: { template: own, code: 'print(6 * 7)' } });
      expect(ownRun.body).toMatchObject({ status: 'success', stdout: '42\n' });
      // Right after the owner's run the session-service holds the spec in its cache: still a 404.
      expect((await call('/execute', KEY.b, { body: { template: own, code: 'print(1)' } })).status).toBe(404);
    }, 90000);

    it('lets only its owner or an admin remove it; a shared one only an admin', async () => {
      const foreign = await call(`/templates/${own}`, KEY.b, { method: 'DELETE' });
      expect(foreign.status).toBe(404);
      expect((await call(`/templates/${own}`, KEY.a)).status).toBe(200);
      const sharedByTenant = await call(`/templates/${shared}`, KEY.b, { method: 'DELETE' });
      expect(sharedByTenant.status).toBe(403);
      expect(sharedByTenant.body.error.code).toBe('FORBIDDEN');

      const all = (await call('/templates', KEY.admin)).body.templates;
      expect(all.find((t) => t.name === own)).toMatchObject({ tenant_id: 'ta' });
      expect((await call(`/templates/${own}`, KEY.admin, { method: 'DELETE' })).status).toBe(200);
      expect((await call(`/templates/${shared}`, KEY.admin, { method: 'DELETE' })).status).toBe(200);
      expect((await call(`/templates/${own}`, KEY.a)).status).toBe(404);
    });

    it('lets a tenant hold MAX_TEMPLATES_PER_TENANT custom templates at once, counting no one else', async () => {
      const names = [1, 2, 3, 4].map((i) => `quota-${i}-${token}`);
      for (const name of names.slice(0, 3)) expect((await register(KEY.b, { name })).status).toBe(201);
      const over = await register(KEY.b, { name: names[3] });
      expect(over.status).toBe(429);
      expect(over.body.error).toEqual({
        code: 'QUOTA_EXCEEDED',
        message:
          'templates: tenant tb is at the maximum of 3 custom templates (MAX_TEMPLATES_PER_TENANT); delete one first',
      });
      expect((await call(`/templates/${names[0]}`, KEY.b, { method: 'DELETE' })).status).toBe(200);
      expect((await register(KEY.b, { name: names[3] })).status).toBe(201);
      for (const name of names.slice(1)) await call(`/templates/${name}`, KEY.b, { method: 'DELETE' });
    });

    it('keeps names one namespace: a name another tenant holds is a 409', async () => {
      const name = `taken-${token}`;
      expect((await register(KEY.a, { name })).status).toBe(201);
      const res = await register(KEY.b, { name });
      expect(res.status).toBe(409);
      expect(res.body.error).toEqual({
        code: 'TEMPLATE_EXISTS',
        message: `name: ${name} is taken (template names are one namespace across tenants); choose another`,
      });
      expect((await call(`/templates/${name}`, KEY.a, { method: 'DELETE' })).status).toBe(200);
    });
  });
});
