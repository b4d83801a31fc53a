import Docker from 'dockerode';
import { randomUUID } from 'node:crypto';
import { get, post, stackInfo } from './client';
import { Stack, waitFor } from '../../scripts/lib/stack';

interface Summary {
  image: string;
  image_status: string;
  build_error?: string;
  build_log?: string[];
}

async function remove(name: string): Promise<void> {
  await fetch(`${stackInfo().apiUrl}/templates/${name}`, { method: 'DELETE' });
}

async function builtOrFailed(name: string): Promise<Summary> {
  let template = {} as Summary;
  await waitFor(
    async () => {
      template = (await get<{ template: Summary }>(`/templates/${name}`)).body.template;
      return template.image_status === 'ready' || template.image_status === 'failed';
    },
    120000,
    `the image of ${name} to build`,
  );
  return template;
}

/**
 * Setup commands of a custom template are attacker input: they run as the sandbox user, with
 * no capabilities (not even in the bounding set), no-new-privileges, no set-user-id programs
 * and no network. What they see is written into the image and read back by a run in it.
 */
describe('custom template builds', () => {
  const token = randomUUID().slice(0, 8);
  const names: string[] = [];
  afterAll(async () => {
    for (const name of names) await remove(name);
  });

  it('runs setup commands as uid 10001 without capabilities, privileges or network', async () => {
    const name = `probe-${token}`;
    names.push(name);
    const probe = [
      'id -u',
      'grep -E "^(CapEff|CapBnd|CapPrm|NoNewPrivs):" /proc/self/status',
      'echo "routes: $(tail -n +2 /proc/net/route | wc -l)"',
      'echo "interfaces: $(ls /sys/class/net | tr "\\n" " ")"',
      'echo "setuid: $(find / -xdev -type f -perm /6000 2>/dev/null | wc -l)"',
      '(touch /opt/root-owned 2>/dev/null && echo "root write: yes") || echo "root write: no"',
      `echo ${token}`,
    ];
    const res = await post<{ template: Summary }>('/templates', {
      name,
      base: 'minimal',
      setup_commands: probe.map((c) => `${c} >> probe.txt`),
    });
    expect(res.status).toBe(201);
    const built = await builtOrFailed(name);
    expect(built).toMatchObject({ image_status: 'ready' });

    const run = await post<{ status: string; stdout: string }>('/execute', {
      tenant_id: 't-build',
      template: name,
      code: 'print(open("/opt/template/probe.txt").read(), end="")',
    });
    expect(run.body.status).toBe('success');
    expect(run.body.stdout.split('\n')).toEqual([
      '10001',
      'CapPrm:\t0000000000000000',
      'CapEff:\t0000000000000000',
      'CapBnd:\t0000000000000000',
      'NoNewPrivs:\t1',
      'routes: 0',
      'interfaces: lo ',
      'setuid: 0',
      'root write: no',
      token,
      '',
    ]);
    // The image runs as the sandbox user too, and carries no build container's command.
    const config = (await new Docker().getImage(built.image).inspect()).Config;
    expect(config.User).toBe('10001:10001');
    expect(config.Labels['executor.template']).toBe(name);
    expect(config.Cmd).not.toContain('timeout');
    await new Docker().getImage(built.image).remove({ force: true });
  }, 180000);

  it('fails the build of a setup command that writes where root owns', async () => {
    const name = `rootless-${token}`;
    names.push(name);
    // The tester's template: as root it would have written /opt/u.
    await post('/templates', { name, base: 'minimal', setup_commands: [`id -u > /opt/u # ${token}`] });
    const built = await builtOrFailed(name);
    expect(built.image_status).toBe('failed');
    expect(built.build_error).toMatch(/returned a non-zero code: [12]/);
    expect(built.build_log?.join('\n')).toMatch(/Permission denied/);
  }, 150000);
});

describe('setup containers of a runner that died mid-build', () => {
  it('are removed when a runner of the same id starts; other runners keep theirs', async () => {
    const stack = await Stack.create({ POOL_SIZES: '' });
    const docker = new Docker();
    const create = (runner: string) =>
      docker.createContainer({
        Image: 'executor/minimal:latest',
        Cmd: ['true'],
        Labels: { 'executor.build': 'leftover', 'executor.build.runner': runner },
      });
    const mine = await create(stack.info.runnerId);
    const other = await create(`${stack.info.runnerId}-other`);
    try {
      await stack.start();
      await expect(docker.getContainer(mine.id).inspect()).rejects.toMatchObject({ statusCode: 404 });
      expect((await docker.getContainer(other.id).inspect()).Id).toBe(other.id);
    } finally {
      await stack.stop();
      await other.remove({ force: true });
      await mine.remove({ force: true }).catch(() => undefined);
    }
  });
});
