import type { ContainerCreateOptions } from 'dockerode';
import { parseMemory, type TemplateSpec } from '@executor/contracts';

export const SANDBOX_UID = 10001;
export const LABEL_MANAGED = 'executor.managed';
export const LABEL_RUNNER = 'executor.runner';
export const LABEL_SANDBOX = 'executor.sandbox';
export const LABEL_TEMPLATE = 'executor.template';
/** The Docker network of sandboxes whose template has network access: no traffic between containers. */
export const SANDBOX_NETWORK = 'executor-sandboxes';

export interface SandboxRequest {
  runnerId: string;
  sandboxId: string;
  template: TemplateSpec;
  env: Record<string, string>;
  cmd: string[];
}

/**
 * The sandbox baseline (README, Sandboxes) as Docker create options: no network, read-only root,
 * small tmpfs for /tmp and /workspace, non-root, no capabilities, no new privileges,
 * memory without extra swap, CPU quota, pids, nofile and fsize limits, no mounts.
 */
export function sandboxContainerOptions(req: SandboxRequest): ContainerCreateOptions {
  const t = req.template;
  const memory = parseMemory(t.memory_limit);
  if (memory === null) throw new Error(`template ${t.name} has an invalid memory_limit`);
  const env = { ...t.env, ...req.env };
  return {
    Image: t.image,
    Cmd: req.cmd,
    User: `${SANDBOX_UID}:${SANDBOX_UID}`,
    WorkingDir: '/workspace',
    Hostname: 'sandbox',
    Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    Tty: false,
    OpenStdin: true,
    StdinOnce: true,
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    NetworkDisabled: !t.network,
    StopTimeout: 1,
    Labels: {
      [LABEL_MANAGED]: 'true',
      [LABEL_RUNNER]: req.runnerId,
      [LABEL_SANDBOX]: req.sandboxId,
      [LABEL_TEMPLATE]: t.name,
    },
    HostConfig: {
      NetworkMode: t.network ? SANDBOX_NETWORK : 'none',
      ReadonlyRootfs: true,
      Tmpfs: {
        '/tmp': 'rw,nosuid,nodev,size=100m,mode=1777',
        '/workspace': `rw,nosuid,nodev,size=50m,mode=0700,uid=${SANDBOX_UID},gid=${SANDBOX_UID}`,
      },
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Memory: memory,
      MemorySwap: memory,
      NanoCpus: Math.round(t.cpu_limit * 1e9),
      PidsLimit: t.pids_limit,
      Ulimits: [
        { Name: 'nofile', Soft: 1024, Hard: 1024 },
        { Name: 'fsize', Soft: 100 * 1024 * 1024, Hard: 100 * 1024 * 1024 },
        { Name: 'core', Soft: 0, Hard: 0 },
      ],
      ShmSize: 16 * 1024 * 1024,
      IpcMode: 'private',
      Privileged: false,
      // A tiny init as PID 1 reaps whatever the user's code leaves behind.
      Init: true,
      AutoRemove: false,
      RestartPolicy: { Name: 'no' },
      Binds: [],
      ...(t.runtime ? { Runtime: t.runtime } : {}),
    },
  };
}
