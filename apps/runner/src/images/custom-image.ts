import type Docker from 'dockerode';
import type { ImageBuildSpec } from '@executor/contracts';

export type CustomBuild = Extract<ImageBuildSpec, { kind: 'custom' }>;

/** The sandbox user of every template image. */
export const SANDBOX_USER = '10001:10001';
/**
 * The one place of a custom image the sandbox user may write to during its setup commands, and
 * their working directory (at run time the image is read-only, and /workspace and /tmp are
 * fresh tmpfs mounts).
 */
export const SETUP_DIR = '/opt/template';
/** Seconds the setup commands of one template may run, together. */
export const SETUP_TIMEOUT_S = 600;
/** Labels of a setup container: which runner started it (a restarted runner removes its leftovers). */
export const LABEL_BUILD = 'executor.build';
export const LABEL_BUILD_RUNNER = 'executor.build.runner';

const MIB = 1024 * 1024;

/**
 * The first step of a custom image: the project's own package installs, as root and with
 * network (their names passed strict validation, and no package code runs that could be
 * avoided: npm with --ignore-scripts on the build host, pip wheels only). It ends without
 * set-user-id programs, as the sandbox user, with SETUP_DIR its own: what runs after it cannot
 * get root back.
 */
export function packagesDockerfile(spec: CustomBuild): string {
  const lines = [`FROM ${spec.base_image}`, 'USER root'];
  const { apt, pip, npm } = spec.packages;
  if (apt.length > 0 || pip.length > 0) {
    const aptAll = [...apt, ...(pip.length > 0 ? ['python3-pip'] : [])];
    lines.push(
      'RUN apt-get update \\',
      ` && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${aptAll.join(' ')} \\`,
      ' && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb',
    );
  }
  if (pip.length > 0) {
    lines.push(
      `RUN pip install --no-cache-dir --break-system-packages --only-binary=:all: ${pip.map((p) => `'${p}'`).join(' ')}`,
    );
  }
  if (npm.length > 0) {
    // Installed on the build host with --ignore-scripts (no package code runs there), copied in.
    lines.push(
      'COPY npm/node_modules /opt/executor/node_modules',
      'ENV NODE_PATH=/opt/executor/node_modules',
    );
  }
  lines.push(
    'RUN find / -xdev -type f -perm /6000 -exec chmod ug-s {} + \\',
    ` && mkdir -p ${SETUP_DIR} && chown ${SANDBOX_USER} ${SETUP_DIR}`,
    `USER ${SANDBOX_USER}`,
    `LABEL executor.template.hash=${spec.hash}`,
  );
  return lines.join('\n') + '\n';
}

/**
 * Runs the setup commands in order, each in its own shell, and stops at the first that fails
 * with its exit code (as the RUN lines of a Dockerfile would).
 */
const SETUP_DRIVER = [
  'i=0',
  'for c in "$@"; do',
  '  i=$((i + 1))',
  '  /bin/sh -c "$c" || { rc=$?; echo "setup command $i returned a non-zero code: $rc" >&2; exit $rc; }',
  'done',
].join('\n');

/**
 * The container the setup commands of a custom template run in, on top of its packages image:
 * the sandbox user, no capabilities (not even in the bounding set), no-new-privileges, no
 * network (only lo), bounded memory, CPU, processes, file size and log size, and a time limit
 * that holds even if the runner dies meanwhile. Its file system becomes the template's image.
 */
export function setupContainerOptions(
  spec: CustomBuild,
  packagesImage: string,
  runnerId: string,
): Docker.ContainerCreateOptions {
  return {
    Image: packagesImage,
    User: SANDBOX_USER,
    WorkingDir: SETUP_DIR,
    Cmd: [
      'timeout',
      '-s',
      'KILL',
      String(SETUP_TIMEOUT_S),
      '/bin/sh',
      '-c',
      SETUP_DRIVER,
      'setup',
      ...spec.setup_commands,
    ],
    NetworkDisabled: true,
    Labels: { [LABEL_BUILD]: spec.hash, [LABEL_BUILD_RUNNER]: runnerId },
    HostConfig: {
      NetworkMode: 'none',
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Memory: 2048 * MIB,
      MemorySwap: 2048 * MIB,
      NanoCpus: 1e9,
      PidsLimit: 256,
      Ulimits: [
        { Name: 'nofile', Soft: 1024, Hard: 1024 },
        { Name: 'fsize', Soft: 1024 * MIB, Hard: 1024 * MIB },
      ],
      LogConfig: { Type: 'json-file', Config: { 'max-size': '1m', 'max-file': '1' } },
    },
  };
}

/** The image config of a committed setup container: its packages image's, not the setup command's. */
export function committedConfig(
  packages: {
    Cmd?: string[] | null;
    Env?: string[] | null;
    WorkingDir?: string;
    Labels?: Record<string, string> | null;
  },
  spec: CustomBuild,
  template: string,
): Record<string, unknown> {
  return {
    Cmd: packages.Cmd && packages.Cmd.length > 0 ? packages.Cmd : ['/bin/sh'],
    Env: packages.Env ?? [],
    WorkingDir: packages.WorkingDir ?? '',
    User: SANDBOX_USER,
    Labels: {
      ...(packages.Labels ?? {}),
      'executor.template.hash': spec.hash,
      'executor.template': template,
    },
  };
}

/** The text of a non-TTY container's multiplexed log (8-byte frame headers). */
export function demuxLog(buf: Buffer): string {
  const parts: Buffer[] = [];
  let at = 0;
  while (at + 8 <= buf.length) {
    const size = buf.readUInt32BE(at + 4);
    parts.push(buf.subarray(at + 8, Math.min(buf.length, at + 8 + size)));
    at += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8');
}
