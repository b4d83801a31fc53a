import { Logger } from '@nestjs/common';
import Docker from 'dockerode';
import type { Duplex } from 'node:stream';
import type { TemplateSpec } from '@executor/contracts';
import { kernelProgram } from '../kernel/kernel-source';
import { KernelLink } from './kernel-link';
import type { SandboxLimits } from './run-limits';

export * from './kernel-link';

/** Thrown when the image of a template is not there. */
export class ImageMissingError extends Error {
  constructor(readonly image: string) {
    super(`image ${image} is not built`);
  }
}

export class SandboxStartError extends Error {}

/**
 * Create options that travel in the request's body only. docker-modem otherwise also copies
 * every option into the query string, percent-encoded: with the kernel's source in `Cmd` that
 * is ~190 KB of URL per container, built by the runner and parsed by dockerd for nothing
 * (the engine reads the body; create's only query parameters are `name` and `platform`).
 */
export function bodyOnly(options: Docker.ContainerCreateOptions): Docker.ContainerCreateOptions {
  return { _query: {}, _body: options } as Docker.ContainerCreateOptions;
}

/**
 * One container with a kernel in it, attached over its stdio: the container's main kernel.
 * More kernels (contexts) may be started in the same container with exec.
 */
export class Sandbox extends KernelLink {
  private readonly logger = new Logger(Sandbox.name);
  private removed = false;
  readonly createdAt = Date.now();

  private constructor(
    readonly docker: Docker,
    readonly container: Docker.Container,
    readonly template: TemplateSpec,
    stream: Duplex,
    limits: SandboxLimits,
  ) {
    super(docker, stream, limits);
  }

  get id(): string {
    return this.container.id;
  }

  /** Creates and starts a container and waits until its kernel says it is ready. */
  static async start(
    docker: Docker,
    options: Docker.ContainerCreateOptions,
    template: TemplateSpec,
    limits: SandboxLimits,
    readyTimeoutMs: number,
    onCreated: (containerId: string) => void = () => undefined,
  ): Promise<Sandbox> {
    let container: Docker.Container;
    try {
      container = await docker.createContainer(bodyOnly(options));
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) throw new ImageMissingError(template.image);
      throw err;
    }
    onCreated(container.id);
    let sandbox: Sandbox | undefined;
    try {
      const stream = (await container.attach({
        stream: true,
        stdin: true,
        stdout: true,
        stderr: true,
        hijack: true,
      })) as Duplex;
      sandbox = new Sandbox(docker, container, template, stream, limits);
      const ready = sandbox.whenReady(readyTimeoutMs);
      // The kernel's program, where its command does not carry it (kernel-source.ts).
      const program = kernelProgram(template.kernel);
      if (program) stream.write(program);
      await container.start();
      const { state } = await ready;
      if (state !== 'ready') {
        throw new SandboxStartError(
          `the ${template.name} kernel did not become ready (${state}): ${sandbox.kernelLog.text().slice(-500)}`,
        );
      }
      return sandbox;
    } catch (err) {
      if (sandbox) await sandbox.destroy();
      else await container.remove({ force: true }).catch(() => undefined);
      throw err;
    }
  }

  protected async deathInfo(): Promise<{ exitCode: number; oomKilled: boolean }> {
    const { State } = await this.container.inspect();
    return { exitCode: State.Running ? 137 : State.ExitCode, oomKilled: Boolean(State.OOMKilled) };
  }

  /** Interrupts the running code (SIGINT to the kernel, through the container's init); the kernel lives on. */
  async interrupt(): Promise<void> {
    await this.container.kill({ signal: 'SIGINT' }).catch(() => undefined);
  }

  async kill(): Promise<void> {
    await this.container.kill({ signal: 'SIGKILL' }).catch(() => undefined);
  }

  /** Cuts the sandbox's stream: nothing more is read from or written to its kernel. */
  detach(): void {
    this.stream.destroy();
  }

  /** Removes the container, whatever state it is in. */
  async destroy(): Promise<void> {
    if (this.removed) return;
    this.removed = true;
    this.stream.destroy();
    await this.container.remove({ force: true, v: true }).catch((err: unknown) => {
      if ((err as { statusCode?: number }).statusCode !== 404) {
        this.logger.warn(`could not remove container ${this.id.slice(0, 12)}: ${String(err)}`);
      }
    });
  }
}
