import { Logger } from '@nestjs/common';
import Docker from 'dockerode';
import { performance } from 'node:perf_hooks';
import { Writable, type Duplex } from 'node:stream';
import { TextDecoder } from 'node:util';
import type {
  ExecutionError,
  FileOp,
  FileOpReply,
  FilePayload,
  RichResult,
  StreamFrame,
  TemplateSpec,
} from '@executor/contracts';
import { FrameParser, type KernelFrame } from '../kernel/frame-parser';
import { OutputCapture } from './output-capture';

export interface KernelRequest {
  code: string;
  language: string;
  files: FilePayload[];
  env: Record<string, string>;
}

export interface KernelFileRequest {
  op: 'files';
  action: FileOp;
  path: string;
  content_b64?: string;
}

/** What to do when a run passes its timeout. */
export type TimeoutPolicy =
  /** Kill the sandbox (one-off runs: it is thrown away anyway). */
  | 'kill'
  /** Interrupt the code (SIGINT) and keep the kernel; kill only if it does not stop in time. */
  | 'interrupt';

const INTERRUPT_GRACE_MS = 2000;

export interface OutputFile {
  name: string;
  mime: string;
  size: number;
  b64: string;
}

/** What one run in a kernel produced, before it is turned into an ExecutionResult. */
export interface KernelOutcome {
  exitCode: number;
  stdout: OutputCapture;
  stderr: OutputCapture;
  results: RichResult[];
  files: OutputFile[];
  error?: ExecutionError;
  durationMs: number;
  timedOut: boolean;
  oomKilled: boolean;
  /** The sandbox died during the run (killed, OOM, or the kernel itself was killed). */
  died: boolean;
  /** The answer to a file operation. */
  filesReply?: FileOpReply;
}

/** Thrown when the image of a template is not there. */
export class ImageMissingError extends Error {
  constructor(readonly image: string) {
    super(`image ${image} is not built`);
  }
}

export class SandboxStartError extends Error {}

interface PendingRun {
  outcome: KernelOutcome;
  started: number;
  resolve: (o: KernelOutcome) => void;
  timer?: NodeJS.Timeout;
  listener?: (frame: StreamFrame) => void;
  decoders: { stdout: TextDecoder; stderr: TextDecoder };
}

const KERNEL_LOG_BYTES = 16 * 1024;

/**
 * One container with a kernel in it, attached over its stdio. The kernel answers one run
 * at a time; a run ends with the kernel's `done` frame, or with the container's death.
 */
export class Sandbox {
  private readonly logger = new Logger(Sandbox.name);
  private readonly kernelLog = new OutputCapture(KERNEL_LOG_BYTES);
  private pending?: PendingRun;
  private readyResolve?: () => void;
  private deadResolve!: () => void;
  /** Resolves when the container's stream has ended: the kernel is gone. */
  readonly dead: Promise<void>;
  private isDead = false;
  private removed = false;
  readonly createdAt = Date.now();

  private constructor(
    private readonly docker: Docker,
    readonly container: Docker.Container,
    readonly template: TemplateSpec,
    private readonly stream: Duplex,
    private readonly maxOutputBytes: number,
  ) {
    this.dead = new Promise((r) => (this.deadResolve = r));
    const parser = new FrameParser(
      (f) => this.onFrame(f),
      (raw) => this.pending?.outcome.stdout.push(raw),
    );
    const stdout = new Writable({
      write: (chunk: Buffer, _e, cb) => {
        parser.push(chunk);
        cb();
      },
    });
    docker.modem.demuxStream(stream, stdout, this.kernelLog.writable());
    const ended = () => this.onDeath();
    stream.once('end', ended);
    stream.once('close', ended);
    stream.once('error', ended);
  }

  get id(): string {
    return this.container.id;
  }

  get alive(): boolean {
    return !this.isDead;
  }

  /** Creates and starts a container and waits until its kernel says it is ready. */
  static async start(
    docker: Docker,
    options: Docker.ContainerCreateOptions,
    template: TemplateSpec,
    maxOutputBytes: number,
    readyTimeoutMs: number,
    onCreated: (containerId: string) => void = () => undefined,
  ): Promise<Sandbox> {
    let container: Docker.Container;
    try {
      container = await docker.createContainer(options);
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
      sandbox = new Sandbox(docker, container, template, stream, maxOutputBytes);
      const ready = new Promise<void>((r) => (sandbox!.readyResolve = r));
      await container.start();
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        ready.then(() => 'ready' as const),
        sandbox.dead.then(() => 'dead' as const),
        new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), readyTimeoutMs))),
      ]);
      clearTimeout(timer);
      if (outcome !== 'ready') {
        throw new SandboxStartError(
          `the ${template.name} kernel did not become ready (${outcome}): ${sandbox.kernelLog.text().slice(-500)}`,
        );
      }
      return sandbox;
    } catch (err) {
      if (sandbox) await sandbox.destroy();
      else await container.remove({ force: true }).catch(() => undefined);
      throw err;
    }
  }

  /** Runs code (or a file operation) in the kernel; past the timeout, `policy` decides and `timedOut` says so. */
  execute(
    request: KernelRequest | KernelFileRequest,
    timeoutMs: number,
    policy: TimeoutPolicy = 'kill',
    listener?: (frame: StreamFrame) => void,
  ): Promise<KernelOutcome> {
    if (this.pending) throw new Error('the sandbox is busy');
    const outcome: KernelOutcome = {
      exitCode: -1,
      stdout: new OutputCapture(this.maxOutputBytes),
      stderr: new OutputCapture(this.maxOutputBytes),
      results: [],
      files: [],
      durationMs: 0,
      timedOut: false,
      oomKilled: false,
      died: false,
    };
    return new Promise<KernelOutcome>((resolve) => {
      const run: PendingRun = {
        outcome,
        started: performance.now(),
        resolve,
        listener,
        decoders: { stdout: new TextDecoder(), stderr: new TextDecoder() },
      };
      this.pending = run;
      if (this.isDead) return void this.finishDead(run);
      run.timer = setTimeout(() => {
        outcome.timedOut = true;
        if (policy === 'kill') return void this.kill();
        void this.interrupt();
        run.timer = setTimeout(() => void this.kill(), INTERRUPT_GRACE_MS);
      }, timeoutMs);
      this.stream.write(JSON.stringify(request) + '\n');
    });
  }

  private onFrame(frame: KernelFrame): void {
    if (frame.t === 'ready') {
      this.readyResolve?.();
      return;
    }
    const run = this.pending;
    if (!run) return;
    const o = run.outcome;
    switch (frame.t) {
      case 'out': {
        const bytes = Buffer.from(frame.b, 'base64');
        (frame.n === 'stderr' ? o.stderr : o.stdout).push(bytes);
        if (run.listener) {
          const name = frame.n === 'stderr' ? 'stderr' : 'stdout';
          const text = run.decoders[name].decode(bytes, { stream: true });
          if (text) run.listener({ type: name, text });
        }
        break;
      }
      case 'trunc':
        (frame.n === 'stderr' ? o.stderr : o.stdout).markTruncated();
        break;
      case 'result':
        o.results.push({ data: frame.data, is_main_result: Boolean(frame.main) });
        run.listener?.({ type: 'result', data: frame.data, is_main_result: Boolean(frame.main) });
        break;
      case 'file':
        o.files.push({ name: frame.name, mime: frame.mime, size: frame.size, b64: frame.b });
        break;
      case 'files': {
        const { t: _t, ...reply } = frame;
        o.filesReply = reply;
        break;
      }
      case 'error':
        o.error = { name: frame.name, value: frame.value, traceback: frame.traceback };
        break;
      case 'done':
        o.exitCode = frame.exit_code;
        o.stdout.reportTotal(frame.stdout_bytes);
        o.stderr.reportTotal(frame.stderr_bytes);
        this.finish(run);
        break;
      default: {
        const _never: never = frame;
        return _never;
      }
    }
  }

  private finish(run: PendingRun): void {
    clearTimeout(run.timer);
    run.outcome.durationMs = performance.now() - run.started;
    this.pending = undefined;
    run.resolve(run.outcome);
  }

  private onDeath(): void {
    if (this.isDead) return;
    this.isDead = true;
    this.deadResolve();
    const run = this.pending;
    if (run) void this.finishDead(run);
  }

  /** The kernel died during a run: learn why (timeout, OOM, killed) from the engine. */
  private async finishDead(run: PendingRun): Promise<void> {
    run.outcome.died = true;
    try {
      const { State } = await this.container.inspect();
      run.outcome.exitCode = State.Running ? 137 : State.ExitCode;
      run.outcome.oomKilled = Boolean(State.OOMKilled) && !run.outcome.timedOut;
    } catch {
      run.outcome.exitCode = 137;
    }
    this.finish(run);
  }

  /** Interrupts the running code (SIGINT to the kernel); the kernel itself lives on. */
  async interrupt(): Promise<void> {
    await this.container.kill({ signal: 'SIGINT' }).catch(() => undefined);
  }

  async kill(): Promise<void> {
    await this.container.kill({ signal: 'SIGKILL' }).catch(() => undefined);
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
