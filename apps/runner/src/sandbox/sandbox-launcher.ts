import { Inject, Injectable, Logger } from '@nestjs/common';
import Docker from 'dockerode';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import type { FilePayload, TemplateSpec } from '@executor/contracts';
import { RUNNER_CONFIG, type RunnerConfig } from '../runner.config';
import { LABEL_MANAGED, LABEL_RUNNER, sandboxContainerOptions } from './container-options';
import { DOCKER } from './docker.provider';
import { OutputCapture } from './output-capture';
import { PYTHON_DRIVER } from './python-driver';

export interface OneShotRun {
  executionId: string;
  template: TemplateSpec;
  code: string;
  files: FilePayload[];
  env: Record<string, string>;
  timeoutMs: number;
}

export interface RawOutcome {
  exitCode: number;
  stdout: OutputCapture;
  stderr: OutputCapture;
  durationMs: number;
  timedOut: boolean;
  oomKilled: boolean;
}

/** Thrown when the image of a template is not there. */
export class ImageMissingError extends Error {
  constructor(readonly image: string) {
    super(`image ${image} is not built`);
  }
}

/** Runs code in a fresh container that is removed afterwards, whatever happens. */
@Injectable()
export class SandboxLauncher {
  private readonly logger = new Logger(SandboxLauncher.name);
  /** Containers this process created and still drives. */
  private readonly live = new Set<string>();

  constructor(
    @Inject(DOCKER) private readonly docker: Docker,
    @Inject(RUNNER_CONFIG) private readonly config: RunnerConfig,
  ) {}

  async runOnce(run: OneShotRun): Promise<RawOutcome> {
    const options = sandboxContainerOptions({
      runnerId: this.config.RUNNER_ID,
      executionId: run.executionId,
      template: run.template,
      env: run.env,
      cmd: ['python3', '-u', '-c', PYTHON_DRIVER],
    });
    let container: Docker.Container;
    try {
      container = await this.docker.createContainer(options);
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404)
        throw new ImageMissingError(run.template.image);
      throw err;
    }
    this.live.add(container.id);
    try {
      return await this.drive(container, run);
    } finally {
      this.live.delete(container.id);
      await container.remove({ force: true, v: true }).catch((err: unknown) => {
        if ((err as { statusCode?: number }).statusCode !== 404) {
          this.logger.warn(`could not remove container ${container.id.slice(0, 12)}: ${String(err)}`);
        }
      });
    }
  }

  private async drive(container: Docker.Container, run: OneShotRun): Promise<RawOutcome> {
    const stdout = new OutputCapture(this.config.MAX_OUTPUT_BYTES);
    const stderr = new OutputCapture(this.config.MAX_OUTPUT_BYTES);
    const stream = (await container.attach({
      stream: true,
      stdin: true,
      stdout: true,
      stderr: true,
      hijack: true,
    })) as Duplex;
    const streamClosed = new Promise<void>((resolve) => {
      stream.once('end', resolve);
      stream.once('close', resolve);
      stream.once('error', () => resolve());
    });
    this.docker.modem.demuxStream(stream, stdout.writable(), stderr.writable());
    // Subscribe to the exit before starting, so a fast exit is not missed.
    const exited = container.wait({ condition: 'next-exit' }) as Promise<{ StatusCode: number }>;
    await container.start();
    const started = performance.now();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      container.kill({ signal: 'SIGKILL' }).catch(() => undefined);
    }, run.timeoutMs);
    try {
      stream.write(JSON.stringify({ code: run.code, files: run.files }) + '\n');
      const { StatusCode } = await exited;
      const durationMs = performance.now() - started;
      // Output may still be in flight when the exit is reported.
      await Promise.race([streamClosed, new Promise((r) => setTimeout(r, 2000))]);
      const state = (await container.inspect()).State;
      return {
        exitCode: StatusCode,
        stdout,
        stderr,
        durationMs,
        timedOut,
        oomKilled: Boolean(state.OOMKilled) && !timedOut,
      };
    } finally {
      clearTimeout(timer);
      stream.destroy();
    }
  }

  /**
   * Removes containers of this runner that this process does not drive: at start all of
   * them, later those left by a crash. Young ones are spared (they may be starting).
   */
  async removeOrphans(minAgeSeconds = 60): Promise<number> {
    const containers = await this.docker.listContainers({
      all: true,
      filters: { label: [`${LABEL_MANAGED}=true`, `${LABEL_RUNNER}=${this.config.RUNNER_ID}`] },
    });
    const now = Date.now() / 1000;
    const orphans = containers.filter((c) => !this.live.has(c.Id) && now - c.Created >= minAgeSeconds);
    await Promise.all(
      orphans.map((c) =>
        this.docker
          .getContainer(c.Id)
          .remove({ force: true, v: true })
          .catch(() => undefined),
      ),
    );
    return orphans.length;
  }
}
