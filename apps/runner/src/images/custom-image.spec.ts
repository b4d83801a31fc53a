import { execFileSync } from 'node:child_process';
import {
  committedConfig,
  type CustomBuild,
  demuxLog,
  packagesDockerfile,
  setupContainerOptions,
  SETUP_DIR,
} from './custom-image';

const spec: CustomBuild = {
  kind: 'custom',
  hash: '0123456789abcdef',
  base_image: 'executor/minimal:latest',
  packages: { apt: ['jq'], pip: ['six==1.16.0'], npm: ['is-number@7.0.0'] },
  setup_commands: ['echo hi > probe.txt', 'exit 3'],
};

describe('packagesDockerfile', () => {
  const dockerfile = packagesDockerfile(spec);
  const lines = dockerfile.trim().split('\n');

  it('installs the packages as root and never a setup command', () => {
    expect(lines.slice(0, 2)).toEqual(['FROM executor/minimal:latest', 'USER root']);
    expect(dockerfile).toContain('apt-get install -y --no-install-recommends jq python3-pip');
    expect(dockerfile).toContain("--only-binary=:all: 'six==1.16.0'");
    expect(dockerfile).toContain('COPY npm/node_modules /opt/executor/node_modules');
    expect(dockerfile).not.toContain('probe.txt');
    expect(dockerfile).not.toContain('exit 3');
  });

  it('strips set-user-id programs, gives the sandbox user its setup folder and ends as that user', () => {
    expect(dockerfile).toContain('find / -xdev -type f -perm /6000 -exec chmod ug-s {} +');
    expect(dockerfile).toContain(`chown 10001:10001 ${SETUP_DIR}`);
    expect(lines.slice(-2)).toEqual(['USER 10001:10001', 'LABEL executor.template.hash=0123456789abcdef']);
  });

  it('installs nothing for a template without packages', () => {
    const bare = packagesDockerfile({ ...spec, packages: { apt: [], pip: [], npm: [] } });
    expect(bare).not.toMatch(/apt-get|pip|COPY/);
  });
});

describe('setupContainerOptions', () => {
  const options = setupContainerOptions(spec, 'sha256:abc', 'runner-1');

  it('runs the setup commands as the sandbox user without capabilities, privileges or network', () => {
    expect(options).toMatchObject({ Image: 'sha256:abc', User: '10001:10001', WorkingDir: SETUP_DIR });
    expect(options.HostConfig).toMatchObject({
      NetworkMode: 'none',
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      PidsLimit: 256,
    });
    expect(options.HostConfig?.Memory).toBe(options.HostConfig?.MemorySwap);
    expect(options.HostConfig?.CapAdd).toBeUndefined();
    expect(options.HostConfig?.Privileged).toBeUndefined();
    expect(options.Labels).toEqual({ 'executor.build': spec.hash, 'executor.build.runner': 'runner-1' });
  });

  it('runs each command in order and stops at the first failure with its code (a real sh)', () => {
    const cmd = options.Cmd as string[];
    expect(cmd.slice(0, 4)).toEqual(['timeout', '-s', 'KILL', '600']);
    const [, , , , ...sh] = cmd;
    const run = (commands: string[]) => {
      try {
        return { code: 0, out: execFileSync(sh[0], [...sh.slice(1, 4), ...commands], { stdio: 'pipe' }) };
      } catch (err) {
        const e = err as { status: number; stderr: Buffer };
        return { code: e.status, out: e.stderr };
      }
    };
    expect(run(['echo one', 'echo two'])).toMatchObject({ code: 0 });
    expect(String(run(['echo one', 'echo two']).out)).toBe('one\ntwo\n');
    const failed = run(['true', 'exit 3', 'echo never']);
    expect(failed.code).toBe(3);
    expect(String(failed.out)).toBe('setup command 2 returned a non-zero code: 3\n');
  });
});

describe('committedConfig', () => {
  it("keeps the packages image's command, environment and folder, as the sandbox user", () => {
    const config = committedConfig(
      { Cmd: ['/bin/bash'], Env: ['HOME=/workspace'], WorkingDir: '/workspace', Labels: { a: 'b' } },
      spec,
      'probe',
    );
    expect(config).toEqual({
      Cmd: ['/bin/bash'],
      Env: ['HOME=/workspace'],
      WorkingDir: '/workspace',
      User: '10001:10001',
      Labels: { a: 'b', 'executor.template.hash': spec.hash, 'executor.template': 'probe' },
    });
  });
});

describe('demuxLog', () => {
  it('joins the payloads of stdout and stderr frames, also a cut last one', () => {
    const frame = (stream: number, text: string) => {
      const header = Buffer.alloc(8);
      header[0] = stream;
      header.writeUInt32BE(Buffer.byteLength(text), 4);
      return Buffer.concat([header, Buffer.from(text)]);
    };
    const buf = Buffer.concat([frame(1, 'out\n'), frame(2, 'err\n'), frame(1, 'cut off')]);
    expect(demuxLog(buf)).toBe('out\nerr\ncut off');
    expect(demuxLog(buf.subarray(0, buf.length - 3))).toBe('out\nerr\ncut ');
    expect(demuxLog(Buffer.alloc(3))).toBe('');
  });
});
