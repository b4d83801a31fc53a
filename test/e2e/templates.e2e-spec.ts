import Database from 'better-sqlite3';
import Docker from 'dockerode';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { get, post, stackInfo } from './client';
import { waitFor } from '../../scripts/lib/stack';

interface Summary {
  name: string;
  image: string;
  image_status: string;
  image_size?: number;
  languages: string[];
  builtin: boolean;
  packages_missing: string[];
  memory_limit: string;
  network: boolean;
}
interface ErrorBody {
  error: { code: string; message: string };
}

const BUILTINS = ['default', 'minimal', 'python-data', 'python-ml', 'python-nlp', 'python-web', 'node-basic'];

function buildEvents(image: string): string[] {
  const db = new Database(stackInfo().dbPath, { readonly: true });
  try {
    const rows = db
      .prepare(
        "SELECT type, data FROM events WHERE stream_type = 'template' AND type LIKE 'TemplateBuil%' ORDER BY position",
      )
      .all() as Array<{ type: string; data: string }>;
    return rows.filter((r) => (JSON.parse(r.data) as { image: string }).image === image).map((r) => r.type);
  } finally {
    db.close();
  }
}

async function remove(path: string): Promise<number> {
  return (await fetch(`${stackInfo().apiUrl}${path}`, { method: 'DELETE' })).status;
}

describe('templates', () => {
  it('lists the seven built-ins with their limits, languages and image status', async () => {
    const res = await get<{ templates: Summary[] }>('/templates');
    const names = res.body.templates.map((t) => t.name);
    for (const name of BUILTINS) expect(names).toContain(name);
    const byName = Object.fromEntries(res.body.templates.map((t) => [t.name, t]));
    for (const name of ['default', 'minimal', 'python-data', 'node-basic', 'python-web']) {
      expect(byName[name].image_status).toBe('ready');
    }
    expect(byName.minimal.memory_limit).toBe('256m');
    expect(byName['python-web'].network).toBe(true);
    expect(byName['node-basic'].languages).toEqual(['javascript', 'typescript', 'bash']);
    // What cannot be had here is said, not pretended.
    expect(byName['python-nlp'].packages_missing.join(' ')).toMatch(/spacy/);
  });

  it('shows one template with its image size, and 404 for an unknown one', async () => {
    const res = await get<{ template: Summary }>('/templates/default');
    expect(res.body.template).toMatchObject({ name: 'default', builtin: true, image_status: 'ready' });
    expect(res.body.template.image_size).toBeGreaterThan(10 * 1024 * 1024);
    const missing = await get<ErrorBody>('/templates/no-such-thing');
    expect(missing.status).toBe(404);
  });

  it('builds a custom template with an npm package once, runs code that requires it, and reuses the image', async () => {
    const token = randomUUID().slice(0, 8);
    // A setup command unique to this run makes a fresh image, so the build really happens here.
    const definition = {
      base: 'node-basic',
      packages: { npm: ['is-number@7.0.0'] },
      setup_commands: [`echo ${token} > /dev/null`],
    };
    const first = await post<{ template: Summary }>('/templates', { name: `npm-a-${token}`, ...definition });
    expect(first.status).toBe(201);
    const image = first.body.template.image;
    expect(image).toMatch(/^executor\/custom:[0-9a-f]{16}$/);
    await waitFor(
      async () =>
        (await get<{ template: Summary }>(`/templates/npm-a-${token}`)).body.template.image_status ===
        'ready',
      180000,
      'the custom image to build',
    );
    const run = await post<{ status: string; results: Array<{ data: Record<string, string> }> }>('/execute', {
      tenant_id: 't-templates',
      template: `npm-a-${token}`,
      language: 'javascript',
      code: 'const isNumber = require("is-number");\n[isNumber(5), isNumber("x")]',
    });
    expect(run.body.status).toBe('success');
    expect(run.body.results[0].data['text/plain']).toBe('[ true, false ]');

    const second = await post<{ template: Summary }>('/templates', { name: `npm-b-${token}`, ...definition });
    expect(second.body.template).toMatchObject({ image, image_status: 'ready' });
    expect(buildEvents(image)).toEqual(['TemplateBuildStarted', 'TemplateBuilt']);

    expect(await remove(`/templates/npm-a-${token}`)).toBe(200);
    expect(await remove(`/templates/npm-b-${token}`)).toBe(200);
    expect((await get(`/templates/npm-a-${token}`)).status).toBe(404);
    await new Docker().getImage(image).remove({ force: true });
  }, 240000);

  it('answers 503 with retry_after while an image builds, instead of hanging', async () => {
    const token = randomUUID().slice(0, 8);
    const name = `slow-${token}`;
    await post('/templates', { name, base: 'minimal', setup_commands: [`sleep 20 && echo ${token}`] });
    const res = await fetch(`${stackInfo().apiUrl}/execute`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tenant_id: 't-templates', template: name, code: 'print(1)' }),
    });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('30');
    const body = (await res.json()) as { error: { code: string; retry_after: number } };
    expect(body.error).toMatchObject({ code: 'IMAGE_NOT_READY', retry_after: 30 });
    expect(await remove(`/templates/${name}`)).toBe(200);
  });

  it('reports a failed build with its reason and the end of its log, and runs do not rebuild it', async () => {
    const name = `broken-${randomUUID().slice(0, 8)}`;
    const definition = { name, base: 'minimal', setup_commands: ['echo about to fail && exit 3'] };
    const registered = await post<{ template: Summary }>('/templates', definition);
    const image = registered.body.template.image;
    let template: Summary & { build_error?: string; build_log?: string[] } = {} as never;
    const failed = async () => {
      template = (await get<{ template: typeof template }>(`/templates/${name}`)).body.template;
      return template.image_status === 'failed';
    };
    await waitFor(failed, 120000, 'the build to fail');
    expect(template.build_error).toMatch(/returned a non-zero code: 3/);
    expect(template.build_log?.join('\n')).toContain('about to fail');
    // Runs answer with the failure at once, and none starts the build again.
    for (let i = 0; i < 3; i++) {
      const run = await post<ErrorBody>('/execute', { tenant_id: 't', template: name, code: 'print(1)' });
      expect(run.status).toBe(503);
      expect(run.body.error.message).toMatch(
        /failed to build: .*non-zero code: 3.*delete and register the template again/,
      );
    }
    expect(buildEvents(image)).toEqual(['TemplateBuildStarted', 'TemplateBuildFailed']);
    // Deleting and registering it again is how a user rebuilds it.
    expect(await remove(`/templates/${name}`)).toBe(200);
    expect((await post('/templates', definition)).status).toBe(201);
    await waitFor(
      async () => buildEvents(image).length === 4 && (await failed()),
      120000,
      'the second build to fail',
    );
    expect(buildEvents(image)).toEqual([
      'TemplateBuildStarted',
      'TemplateBuildFailed',
      'TemplateBuildStarted',
      'TemplateBuildFailed',
    ]);
    expect(await remove(`/templates/${name}`)).toBe(200);
  }, 250000);

  it.each([
    [{ name: 'Bad_Name', base: 'default' }, 'name'],
    [{ name: 'x', base: 'default' }, 'name'],
    [{ name: 'ok-name', base: 'default', memory_limit: 'lots' }, 'memory_limit'],
    [{ name: 'ok-name', base: 'default', timeout: 0 }, 'timeout'],
    [{ name: 'ok-name', base: 'default', timeout: 3601 }, 'timeout'],
    [{ name: 'ok-name', base: 'default', pids_limit: 4 }, 'pids_limit'],
    [{ name: 'ok-name', base: 'default', memory_limit: '0m' }, 'memory_limit'],
    [{ name: 'ok-name', base: 'default', env: { A: 'x\u0000y' } }, 'env'],
    [{ name: 'ok-name', base: 'default', packages: { npm: ['left-pad; rm -rf /'] } }, 'packages.npm'],
    [{ name: 'ok-name', base: 'default', packages: { apt: ['Python3!'] } }, 'packages.apt'],
    [{ name: 'ok-name', base: 'default', sudo: true }, 'sudo'],
    [{ name: 'ok-name', base: 'no-such-base' }, 'base'],
    [{ name: 'ok-name' }, 'base'],
    [{ name: 'default', base: 'default' }, 'name'],
  ])('refuses %j naming %s', async (body, field) => {
    const res = await post<ErrorBody>('/templates', body);
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain(field);
  });

  it('refuses more than 64 env entries', async () => {
    const env = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`V${i}`, '1']));
    const res = await post<ErrorBody>('/templates', { name: 'ok-name', base: 'default', env });
    expect(res.status).toBe(400);
    expect(res.body.error).toEqual({ code: 'VALIDATION_ERROR', message: 'env must have at most 64 entries' });
  });

  it('refuses network access for custom templates unless an operator allows it', async () => {
    const res = await post<ErrorBody>('/templates', { name: 'netty', base: 'default', network: true });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('NETWORK_NOT_ALLOWED');
  });

  it('cannot remove a built-in', async () => {
    expect(await remove('/templates/default')).toBe(400);
    expect(await remove('/templates/never-registered')).toBe(404);
  });

  it('puts python-web on a network of its own: no traffic between sandboxes, services on loopback only', async () => {
    const network = await new Docker().getNetwork('executor-sandboxes').inspect();
    expect(network.Options).toMatchObject({ 'com.docker.network.bridge.enable_icc': 'false' });
    const res = await post<{ stdout: string }>('/execute', {
      tenant_id: 't-web',
      template: 'python-web',
      code: [
        'import os',
        'print(sorted(os.listdir("/sys/class/net")))',
        'routes = open("/proc/net/route").read().splitlines()[1:]',
        'print(any(r.split()[1] == "00000000" for r in routes))',
        'print(os.path.exists("/var/run/docker.sock"))',
        'import requests, bs4, lxml, scrapy',
        'print("libraries ok")',
      ].join('\n'),
    });
    expect(res.body.stdout).toBe("['eth0', 'lo']\nTrue\nFalse\nlibraries ok\n");
    // The stack's API and NATS listen on 127.0.0.1 only (local address 0100007F in /proc/net/tcp).
    const listening = readFileSync('/proc/net/tcp', 'utf8')
      .split('\n')
      .slice(1)
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f[3] === '0A')
      .map((f) => f[1]);
    for (const url of [stackInfo().apiUrl, stackInfo().natsUrl]) {
      const port = Number(new URL(url).port).toString(16).toUpperCase().padStart(4, '0');
      const bound = listening.filter((a) => a.endsWith(`:${port}`));
      expect(bound).toEqual([`0100007F:${port}`]);
    }
  });
});
