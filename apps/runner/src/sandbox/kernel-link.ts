import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { Writable, type Duplex } from 'node:stream';
import { TextDecoder } from 'node:util';
import type Docker from 'dockerode';
import type { FileOp, FilePayload, StreamFrame } from '@executor/contracts';
import { FrameParser } from '../kernel/frame-parser';
import { parseFrame } from '../kernel/kernel-frames';
import { OutputCapture } from './output-capture';
import type { SandboxLimits } from './run-limits';
import { RunOutput } from './run-output';
import { noteKernelBytes } from './memory-reclaim';
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

/** Empties a kernel: its variables and imports are gone (a context's restart). */
export interface KernelResetRequest {
  op: 'reset';
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
 * One kernel process in a sandbox, reached over a hijacked Docker stream (the container's
 * attached stdio, or an exec's): it answers one run at a time, and a run ends with the kernel's
 * `done` frame or with the stream's end. How to interrupt, kill and learn why it died is the
 * subclass's (a container's main kernel, or a context started with exec).
 */
export abstract class KernelLink {
  protected readonly kernelLog = new OutputCapture(KERNEL_LOG_BYTES);
  private pending?: PendingRun;
  private readyResolve?: (pid: number | undefined) => void;
  private deadResolve!: () => void;
  /** Resolves when the kernel's stream has ended: the kernel is gone. */
  readonly dead: Promise<void>;
  private isDead = false;
  /** Set by the first run: a `ready` frame after it is not the kernel's. */
  private started = false;
  private readonly parser: FrameParser;
  private oversizedSeen = 0;

  protected constructor(
    docker: Docker,
    protected readonly stream: Duplex,
    readonly limits: SandboxLimits,
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
        noteKernelBytes(chunk.length);
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

  get alive(): boolean {
    return !this.isDead;
  }

  /** Waits for the kernel's `ready` (its pid, when it says); `dead` or `timeout` otherwise. */
  protected async whenReady(
    timeoutMs: number,
  ): Promise<{ state: 'ready' | 'dead' | 'timeout'; pid?: number }> {
    const ready = new Promise<number | undefined>((r) => (this.readyResolve = r));
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      ready.then((pid) => ({ state: 'ready' as const, pid })),
      this.dead.then(() => ({ state: 'dead' as const })),
      new Promise<{ state: 'timeout' }>(
        (r) => (timer = setTimeout(() => r({ state: 'timeout' }), timeoutMs)),
      ),
    ]);
    clearTimeout(timer);
    return outcome;
  }

  /** Interrupts the running code (SIGINT to the kernel); the kernel itself lives on. */
  abstract interrupt(): Promise<void>;
  abstract kill(): Promise<void>;
  /** Why the kernel is gone: its exit code and whether the engine killed it for memory. */
  protected abstract deathInfo(): Promise<{ exitCode: number; oomKilled: boolean }>;

  /** Runs code (or a file operation) in the kernel; past the timeout, `policy` decides and `timedOut` says so. */
  execute(
    request: KernelRequest | KernelFileRequest | KernelResetRequest,
    timeoutMs: number,
    policy: TimeoutPolicy = 'kill',
    listener?: (frame: StreamFrame) => void,
  ): Promise<KernelOutcome> {
    if (this.pending) throw new Error('the kernel is busy');
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
      if (!this.started) this.readyResolve?.(frame.pid);
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

  protected onDeath(): void {
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
      const { exitCode, oomKilled } = await this.deathInfo();
      run.outcome.output.exitCode = exitCode;
      run.outcome.oomKilled = oomKilled && !run.outcome.timedOut;
    } catch {
      run.outcome.output.exitCode = 137;
    }
    this.finish(run);
  }
}
