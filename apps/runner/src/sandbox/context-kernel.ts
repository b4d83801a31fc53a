import type Docker from 'dockerode';
import type { Duplex } from 'node:stream';
import type { KernelKind } from '@executor/contracts';
import { kernelCommand, kernelProgram } from '../kernel/kernel-source';
import { SANDBOX_UID } from './container-options';
import { KernelLink } from './kernel-link';
import { SandboxStartError, type Sandbox } from './sandbox';

/**
 * A further kernel in a session's sandbox (a context): started with exec beside the container's
 * first kernel, as the same unprivileged user, under the same limits and sharing /workspace.
 * It is interrupted and killed by its pid, which its `ready` frame told.
 */
export class ContextKernel extends KernelLink {
  private pid?: number;

  private constructor(
    private readonly sandbox: Sandbox,
    private readonly exec: Docker.Exec,
    stream: Duplex,
  ) {
    super(sandbox.docker, stream, sandbox.limits);
  }

  static async start(
    sandbox: Sandbox,
    kind: KernelKind,
    cwd: string,
    readyTimeoutMs: number,
  ): Promise<ContextKernel> {
    const exec = await sandbox.container.exec({
      Cmd: kernelCommand(kind),
      User: `${SANDBOX_UID}:${SANDBOX_UID}`,
      WorkingDir: '/workspace',
      Env: [`EXECUTOR_KERNEL=${kind}`, `EXECUTOR_CWD=${cwd}`],
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
    });
    const stream = await exec.start({ hijack: true, stdin: true });
    const program = kernelProgram(kind);
    if (program) stream.write(program);
    const kernel = new ContextKernel(sandbox, exec, stream);
    const { state, pid } = await kernel.whenReady(readyTimeoutMs);
    if (state !== 'ready' || !pid) {
      kernel.close();
      throw new SandboxStartError(
        `a ${kind} context did not become ready (${state}): ${kernel.kernelLog.text().slice(-300)}`,
      );
    }
    kernel.pid = pid;
    return kernel;
  }

  protected async deathInfo(): Promise<{ exitCode: number; oomKilled: boolean }> {
    const [info, container] = await Promise.all([this.exec.inspect(), this.sandbox.container.inspect()]);
    return { exitCode: info.ExitCode ?? 137, oomKilled: Boolean(container.State.OOMKilled) };
  }

  /** Sends a signal to the kernel's process (its pid is a number the frame schema checked). */
  private async signal(name: 'INT' | 'KILL'): Promise<void> {
    if (!this.pid) return;
    try {
      const exec = await this.sandbox.container.exec({
        // No kill binary in the images: the shell's builtin, with the values as arguments.
        Cmd: ['sh', '-c', 'kill -s "$0" "$1"', name, String(this.pid)],
        User: `${SANDBOX_UID}:${SANDBOX_UID}`,
        AttachStdout: false,
        AttachStderr: false,
      });
      await exec.start({ Detach: true });
    } catch {
      // the sandbox is gone: so is the kernel
    }
  }

  interrupt(): Promise<void> {
    return this.signal('INT');
  }

  async kill(): Promise<void> {
    await this.signal('KILL');
    this.stream.destroy();
  }

  /** Ends the context: its process is killed, its stream closed. */
  close(): void {
    void this.kill();
  }
}
