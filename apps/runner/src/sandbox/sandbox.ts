import { Logger } from '@nestjs/common';
import Docker from 'dockerode';
import { performance } from 'node:perf_hooks';
import { Writable, type Duplex } from 'node:stream';
import { TextDecoder } from 'node:util';
import type { FileOp, FilePayload, StreamFrame, TemplateSpec } from '@executor/contracts';
import { randomBytes } from 'node:crypto';
import { FrameParser } from '../kernel/frame-parser';
import { parseFrame } from '../kernel/kernel-frames';
import { OutputCapture } from './output-capture';
import type { SandboxLimits } from './run-limits';
import { RunOutput } from './run-output';

export interface KernelRequest {
  code: string;
  language: string;
  files: FilePayload[];
  env: Record<string, string>;
  /** The run's standard input; none (EOF) when absent. */
  stdin?: string;
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

export type { OutputFile } from './run-output';

/** What one run in a kernel produced, before it is turned into an ExecutionResult. */
export interface KernelOutcome {
  output: RunOutput;
  durationMs: number;
  timedOut: boolean;
  oomKilled: boolean;
  /** The sandbox died during the run (killed, OOM, or the kernel itself was killed). */
  died: boolean;
}

/** Thrown when the image of a template is not there. */
export class ImageMissingError extends Error {
  constructor(readonly image: string) {
    super(`image ${image} is not built`);
  }
}

export class SandboxStartError extends Error {}

interface PendingRun {
  /** The id every frame of this run carries; frames with another are dropped. */
  id: string;
  outcome: KernelOutcome;
  started: number;
  resolve: (o: KernelOutcome) => void;
  timer?: NodeJS.Timeout;
  listener?: (frame: StreamFrame) => void;
  decoders: { stdout: TextDecoder; stderr: TextDecoder };
}

const KERNEL_LOG_BYTES = 16 * 1024;

let dropped = 0;

/** Frames of every sandbox of this process that were dropped, since it started. */
export function framesDropped(): number {
  return dropped;
}

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
  /** Set by the first run: a `ready` frame after it is not the kernel's. */
  private started = false;
  private readonly parser: FrameParser;
  private oversizedSeen = 0;
  readonly createdAt = Date.now();

  private constructor(
    private readonly docker: Docker,
    readonly container: Docker.Container,
    readonly template: TemplateSpec,
    private readonly stream: Duplex,
    private readonly limits: SandboxLimits,
  ) {
    this.dead = new Promise((r) => (this.deadResolve = r));
    // Raw bytes (not a frame) can only come from code that reached the channel: counted as stdout.
    const parser = (this.parser = new FrameParser(
      (json) => this.onFrame(json),
      (raw) => this.pending?.outcome.output.stdout.push(raw),
      limits.frameBytes,
    ));
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
    limits: SandboxLimits,
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
      sandbox = new Sandbox(docker, container, template, stream, limits);
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
    this.started = true;
    const outcome: KernelOutcome = {
      output: new RunOutput(this.limits),
      durationMs: 0,
      timedOut: false,
      oomKilled: false,
      died: false,
    };
    const id = randomBytes(12).toString('hex');
    return new Promise<KernelOutcome>((resolve) => {
      const run: PendingRun = {
        id,
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
      this.stream.write(JSON.stringify({ ...request, run: id }) + '\n');
    });
  }

  /**
   * One frame's text from the kernel's channel. Everything in it may be forged by the code the
   * sandbox runs: it is used only when it passes its schema, belongs to the run in progress and
   * fits the run's budget; anything else is dropped and counted.
   */
  private onFrame(json: string): void {
    const run = this.pending;
    if (run && !run.outcome.output.worthParsing(json)) {
      run.outcome.output.drops.refused++;
      return;
    }
    const parsed = parseFrame(json);
    if (!parsed.ok) {
      if (!run) return;
      run.outcome.output.drops.invalid++;
      // A malformed end of this very run ends it, as an error of the sandbox's protocol.
      if (parsed.type === 'done' && parsed.run === run.id) {
        run.outcome.output.protocolError = 'the sandbox ended the run with a malformed done frame';
        this.finish(run);
      }
      return;
    }
    const frame = parsed.frame;
    if (frame.t === 'ready') {
      if (!this.started) this.readyResolve?.();
      return;
    }
    if (!run) return;
    const o = run.outcome.output;
    if (frame.r !== run.id) {
      o.drops.foreign++;
      return;
    }
    switch (frame.t) {
      case 'out': {
        const bytes = o.output(frame.n, frame.b);
        if (bytes && run.listener) {
          const text = run.decoders[frame.n].decode(bytes, { stream: true });
          if (text) run.listener({ type: frame.n, text });
        }
        break;
      }
      case 'trunc':
        (frame.n === 'stderr' ? o.stderr : o.stdout).markTruncated();
        break;
      case 'result': {
        const result = o.result(frame);
        if (result)
          run.listener?.({ type: 'result', data: result.data, is_main_result: result.is_main_result });
        break;
      }
      case 'file':
        o.file(frame);
        break;
      case 'files': {
        const { t: _t, r: _r, ...reply } = frame;
        o.filesReply = reply;
        break;
      }
      case 'error':
        o.setError(frame);
        break;
      case 'done':
        o.exitCode = frame.exit_code;
        o.stdout.reportTotal(frame.stdout_bytes);
        o.stderr.reportTotal(frame.stderr_bytes);
        if (frame.stdout_truncated) o.stdout.markTruncated();
        if (frame.stderr_truncated) o.stderr.markTruncated();
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
    const d = run.outcome.output.drops;
    dropped += d.invalid + d.foreign + d.refused + this.parserDrops();
    run.outcome.durationMs = performance.now() - run.started;
    this.pending = undefined;
    run.resolve(run.outcome);
  }

  /** Oversized frames the parser dropped since the last run ended. */
  private parserDrops(): number {
    const n = this.parser.drops.oversized - this.oversizedSeen;
    this.oversizedSeen = this.parser.drops.oversized;
    return n;
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
      run.outcome.output.exitCode = State.Running ? 137 : State.ExitCode;
      run.outcome.oomKilled = Boolean(State.OOMKilled) && !run.outcome.timedOut;
    } catch {
      run.outcome.output.exitCode = 137;
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
