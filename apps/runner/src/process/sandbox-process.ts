import type Docker from 'dockerode';
import type { NatsConnection, Subscription } from 'nats';
import type { Duplex } from 'node:stream';
import {
  ErrorCodes,
  MAX_PROCESS_INPUT_BYTES,
  MAX_PROCESS_OUTPUT_BYTES,
  MAX_PROCESS_WATCHERS,
  streamCancelSubject,
  streamSubject,
  type ProcessFrame,
  type ProcessInfo,
  type ProcessSpec,
  type PtySize,
} from '@executor/contracts';
import { domainError } from '@executor/common';
import { SANDBOX_UID } from '../sandbox/container-options';
import { DockerDemuxer, ProcessOutput, type OutputChunk } from './exec-output';

/**
 * Prints the shell's pid (the process's own once it execs), then becomes the command. In an
 * image where /home/user is the workspace (E2B's home), the process starts there and HOME says
 * so, as in E2B: `pwd` shows /home/user/..., and `cd ~` lands in the same files.
 */
const PID_WRAPPER = [
  '/bin/sh',
  '-c',
  [
    'printf "%s\\n" "$$"',
    'if [ -L /home/user ]; then d=$(pwd -P); case "$d" in /workspace|/workspace/*)',
    '  cd "/home/user${d#/workspace}" && export PWD; [ "$HOME" = /workspace ] && export HOME=/home/user;;',
    'esac; fi',
    'exec "$@"',
  ].join('\n'),
  'executor-process',
];
/** Input waiting to be read by a process that does not read it, at most. */
const MAX_PENDING_INPUT = 1024 * 1024;
const PID_WAIT_MS = 10000;

export interface ProcessEnd {
  exit_code: number;
  status: string;
  error?: string;
  sandbox_ended?: boolean;
}

interface Watcher {
  streamId: string;
  cancel: Subscription;
}

/**
 * One process started with `docker exec` in a sandbox, beside its kernel: as the sandbox's
 * user, in its cgroup (memory, pids), with its own stdin when asked and a TTY for a PTY. Its
 * output goes to the streams watching it; it ends by itself, by a signal, or with the sandbox.
 */
export class SandboxProcess {
  readonly startedAt = Date.now();
  private readonly watchers: Watcher[] = [];
  private ended?: ProcessEnd;
  private readonly endWaiters: Array<(end: ProcessEnd) => void> = [];
  private stdinOpen: boolean;
  /** Its sandbox was closed under it: however its exec reads, it did not exit by itself. */
  private sandboxClosed = false;

  private constructor(
    private readonly container: Docker.Container,
    private readonly exec: Docker.Exec,
    private readonly stream: Duplex,
    private readonly nc: NatsConnection,
    readonly spec: ProcessSpec,
    readonly pid: number,
    readonly output: ProcessOutput,
  ) {
    this.stdinOpen = spec.stdin || Boolean(spec.pty);
  }

  /**
   * Starts it and waits for its pid; `env` is the session's, under the process's own. Its
   * output goes to `streamId` from the first byte.
   */
  static async start(
    container: Docker.Container,
    nc: NatsConnection,
    spec: ProcessSpec,
    env: Record<string, string>,
    streamId: string,
    onEnd: (p: SandboxProcess, end: ProcessEnd) => void,
  ): Promise<SandboxProcess> {
    const tty = Boolean(spec.pty);
    const withStdin = spec.stdin || tty;
    const exec = await container.exec({
      Cmd: [...PID_WRAPPER, spec.cmd, ...spec.args],
      User: `${SANDBOX_UID}:${SANDBOX_UID}`,
      WorkingDir: spec.cwd ?? '/workspace',
      Env: Object.entries({ ...env, ...spec.envs }).map(([k, v]) => `${k}=${v}`),
      AttachStdin: withStdin,
      AttachStdout: true,
      AttachStderr: true,
      Tty: tty,
      ...(spec.pty ? { ConsoleSize: [spec.pty.rows, spec.pty.cols] } : {}),
    });
    const stream = await exec.start({ hijack: true, stdin: withStdin, Tty: tty });
    if (spec.pty) await exec.resize({ h: spec.pty.rows, w: spec.pty.cols }).catch(() => undefined);

    // Output before the pid is known is held (bounded by ProcessOutput) and sent once it is.
    const demux = tty ? undefined : new DockerDemuxer();
    const early: OutputChunk[] = [];
    // Set once the pid is known: from then on output goes straight to its watchers.
    const target: { proc?: SandboxProcess } = {};
    let resolvePid!: (pid: number) => void;
    let rejectPid!: (err: Error) => void;
    const pidKnown = new Promise<number>((res, rej) => {
      resolvePid = res;
      rejectPid = rej;
    });
    const output = new ProcessOutput(MAX_PROCESS_OUTPUT_BYTES);
    stream.on('data', (data: Buffer) => {
      try {
        const chunks = demux ? demux.push(data) : [{ stream: 'pty' as const, data }];
        for (const c of chunks) {
          const send = output.push(c);
          if (target.proc) for (const s of send) target.proc.publish(s);
          else early.push(...send);
        }
        if (!target.proc && output.pid !== null) resolvePid(output.pid);
      } catch (err) {
        rejectPid(err as Error);
        stream.destroy();
      }
    });
    const closed = new Promise<void>((res) => {
      stream.once('close', () => res());
      stream.once('end', () => res());
      stream.once('error', () => res());
    });
    void closed.then(() => rejectPid(new Error('the process ended before it reported its pid')));

    let timer: NodeJS.Timeout | undefined;
    let pid: number;
    try {
      pid = await Promise.race([
        pidKnown,
        new Promise<never>((_, rej) => {
          timer = setTimeout(() => rej(new Error('the process did not start in time')), PID_WAIT_MS);
        }),
      ]);
    } catch (err) {
      stream.destroy();
      throw domainError(
        ErrorCodes.SandboxError,
        `could not start ${spec.cmd.slice(0, 200)}: ${(err as Error).message}`,
      );
    } finally {
      clearTimeout(timer);
    }
    const started = new SandboxProcess(container, exec, stream, nc, spec, pid, output);
    started.watch(streamId);
    for (const c of early.splice(0)) started.publish(c);
    target.proc = started;
    void closed.then(async () => {
      const end = await started.exitOf();
      started.finish(end);
      onEnd(started, end);
    });
    return started;
  }

  info(): ProcessInfo {
    const { cmd, args, envs, cwd, tag } = this.spec;
    return {
      pid: this.pid,
      cmd,
      args,
      envs,
      pty: Boolean(this.spec.pty),
      ...(cwd ? { cwd } : {}),
      ...(tag ? { tag } : {}),
    };
  }

  get running(): boolean {
    return !this.ended;
  }

  /** Sends its output from now on to `streamId`, until a cancel there; the oldest of too many is dropped. */
  watch(streamId: string): void {
    if (this.watchers.some((w) => w.streamId === streamId)) return;
    if (this.watchers.length >= MAX_PROCESS_WATCHERS) this.detach(this.watchers[0].streamId);
    const cancel = this.nc.subscribe(streamCancelSubject(streamId), {
      max: 1,
      callback: () => this.detach(streamId),
    });
    this.watchers.push({ streamId, cancel });
  }

  write(data: Buffer): void {
    if (!this.stdinOpen) {
      throw domainError(
        ErrorCodes.ValidationError,
        `process ${this.pid} has no stdin (start it with stdin: true)`,
      );
    }
    if (data.length > MAX_PROCESS_INPUT_BYTES) {
      throw domainError(
        ErrorCodes.PayloadTooLarge,
        `input takes at most ${MAX_PROCESS_INPUT_BYTES} bytes a call`,
      );
    }
    if (this.stream.writableLength + data.length > MAX_PENDING_INPUT) {
      throw domainError(ErrorCodes.QuotaExceeded, `process ${this.pid} is not reading its input`);
    }
    if (data.length > 0) this.stream.write(data);
  }

  closeStdin(): void {
    if (!this.stdinOpen) return;
    this.stdinOpen = false;
    this.stream.end();
  }

  async resize(size: PtySize): Promise<void> {
    if (!this.spec.pty) throw domainError(ErrorCodes.ValidationError, `process ${this.pid} is not a PTY`);
    await this.exec.resize({ h: size.rows, w: size.cols });
  }

  /**
   * Signals its process group (an exec'd process leads its own), then it: the sandbox user's
   * shell builtin, with the values as arguments. SIGKILL waits for its end (a second at most).
   */
  async signal(signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    const name = signal.slice(3);
    try {
      const exec = await this.container.exec({
        Cmd: [
          'sh',
          '-c',
          'kill -s "$0" -- "-$1" 2>/dev/null; kill -s "$0" "$1" 2>/dev/null; true',
          name,
          String(this.pid),
        ],
        User: `${SANDBOX_UID}:${SANDBOX_UID}`,
        AttachStdout: true,
        AttachStderr: true,
      });
      const s = await exec.start({ hijack: true, stdin: false });
      s.resume();
      await new Promise<void>((res) => {
        s.once('end', res);
        s.once('close', res);
        s.once('error', () => res());
      });
    } catch {
      // the sandbox is gone: so is the process
    }
    if (signal === 'SIGKILL') await this.whenEnded(1000);
  }

  /** Ends it with its sandbox: the stream goes, watchers hear the end. */
  close(): void {
    this.sandboxClosed = true;
    this.stream.destroy();
  }

  whenEnded(timeoutMs: number): Promise<ProcessEnd | undefined> {
    if (this.ended) return Promise.resolve(this.ended);
    return new Promise((res) => {
      const timer = setTimeout(() => res(undefined), timeoutMs);
      this.endWaiters.push((end) => {
        clearTimeout(timer);
        res(end);
      });
    });
  }

  /** To every stream watching it; with none (all went away), output is dropped, as envd does. */
  private publish(chunk: OutputChunk): void {
    if (this.watchers.length === 0) return;
    const frame = frameOf(chunk);
    for (const w of this.watchers) this.send(w.streamId, frame);
  }

  private send(streamId: string, frame: ProcessFrame): void {
    try {
      this.nc.publish(streamSubject(streamId), JSON.stringify(frame));
    } catch {
      // the connection is closing: the watcher's caller hears the end some other way
    }
  }

  private detach(streamId: string): void {
    const i = this.watchers.findIndex((w) => w.streamId === streamId);
    if (i < 0) return;
    const [w] = this.watchers.splice(i, 1);
    w.cancel.unsubscribe();
  }

  private async exitOf(): Promise<ProcessEnd> {
    for (let i = 0; i < 20 && !this.sandboxClosed; i++) {
      try {
        const info = await this.exec.inspect();
        if (!info.Running && info.ExitCode !== null) {
          const code = info.ExitCode;
          return {
            exit_code: code,
            status: code > 128 ? `signal: ${signalName(code - 128)}` : `exit status ${code}`,
          };
        }
      } catch {
        break; // the sandbox is gone
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return {
      exit_code: -1,
      status: 'sandbox ended',
      error: 'the sandbox ended while the process was running',
      sandbox_ended: true,
    };
  }

  private finish(end: ProcessEnd): void {
    const e: ProcessEnd = this.output.truncated
      ? { ...end, error: `output past ${MAX_PROCESS_OUTPUT_BYTES} bytes was dropped` }
      : end;
    this.ended = e;
    for (const w of [...this.watchers]) {
      this.send(w.streamId, { type: 'end', ...e });
      this.detach(w.streamId);
    }
    for (const waiter of this.endWaiters.splice(0)) waiter(e);
  }
}

function frameOf(c: OutputChunk): ProcessFrame {
  return { type: 'data', stream: c.stream, b64: c.data.toString('base64') };
}

const SIGNALS: Record<number, string> = { 1: 'hangup', 2: 'interrupt', 9: 'killed', 15: 'terminated' };
function signalName(n: number): string {
  return SIGNALS[n] ?? `signal ${n}`;
}
