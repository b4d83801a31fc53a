import type { TemplateSpec } from '@executor/contracts';
import { sandboxContainerOptions } from './container-options';

const template: TemplateSpec = {
  name: 'default',
  description: 'd',
  image: 'executor/default:latest',
  languages: ['python'],
  memory_limit: '512m',
  cpu_limit: 0.5,
  timeout: 30,
  network: false,
  pids_limit: 64,
  env: { A: '1' },
  packages: {},
  kernel: 'python',
  preload: [],
  packages_missing: [],
  build: { kind: 'builtin', template: 'default' },
  builtin: true,
};

describe('sandboxContainerOptions', () => {
  const opts = sandboxContainerOptions({
    runnerId: 'r1',
    sandboxId: 'e1',
    template,
    env: { B: '2' },
    cmd: ['python3'],
  });
  const host = opts.HostConfig!;

  it('applies the sandbox baseline', () => {
    expect(host.NetworkMode).toBe('none');
    expect(opts.NetworkDisabled).toBe(true);
    expect(host.ReadonlyRootfs).toBe(true);
    expect(host.CapDrop).toEqual(['ALL']);
    expect(host.SecurityOpt).toContain('no-new-privileges');
    expect(host.Privileged).toBe(false);
    expect(host.Binds).toEqual([]);
    expect(opts.User).toBe('10001:10001');
    expect(host.Tmpfs?.['/tmp']).toContain('size=100m');
    expect(host.Tmpfs?.['/workspace']).toContain('size=50m');
  });

  it('sets memory with swap equal to memory, CPU, pids and ulimits', () => {
    expect(host.Memory).toBe(512 * 1024 * 1024);
    expect(host.MemorySwap).toBe(host.Memory);
    expect(host.NanoCpus).toBe(5e8);
    expect(host.PidsLimit).toBe(64);
    expect(host.Ulimits?.map((u) => u.Name)).toEqual(expect.arrayContaining(['nofile', 'fsize']));
  });

  it('labels the container for orphan clean-up and merges env', () => {
    expect(opts.Labels).toMatchObject({
      'executor.managed': 'true',
      'executor.runner': 'r1',
      'executor.sandbox': 'e1',
    });
    expect(opts.Env).toEqual(['A=1', 'B=2']);
  });

  it('uses the runsc runtime only when the template asks', () => {
    expect(host.Runtime).toBeUndefined();
    const gvisor = sandboxContainerOptions({
      runnerId: 'r',
      sandboxId: 'e',
      template: { ...template, runtime: 'runsc' },
      env: {},
      cmd: [],
    });
    expect(gvisor.HostConfig?.Runtime).toBe('runsc');
  });

  it('refuses a malformed memory limit', () => {
    expect(() =>
      sandboxContainerOptions({
        runnerId: 'r',
        sandboxId: 'e',
        template: { ...template, memory_limit: 'lots' },
        env: {},
        cmd: [],
      }),
    ).toThrow('memory_limit');
  });
});
