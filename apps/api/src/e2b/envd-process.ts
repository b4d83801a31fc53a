import type { MessageInitShape } from '@bufbuild/protobuf';
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from '@connectrpc/connect';
import type { NatsConnection } from 'nats';
import { randomBytes } from 'node:crypto';
import {
  ErrorCodes,
  processSpecError,
  streamCancelSubject,
  streamSubject,
  type ProcessAction,
  type ProcessFrame,
  type ProcessInfo,
  type ProcessSelector,
  type ProcessSpec,
} from '@executor/contracts';
import { RemoteError } from '@executor/common';
import { fromWorkspacePath, toWorkspaceDir } from './e2b-paths';
import { guarded, sandboxOf, toConnectError } from './envd-services';
import {
  Process,
  Signal,
  type ProcessConfig,
  type ProcessEventSchema,
  type ProcessSelector as ProtoSelector,
} from './third_party/envd/gen/process/process_pb';
import type { SandboxSessions } from './sandbox-sessions';

/** One event of a process's stream (the `event` oneof of envd's ProcessEvent). */
type ProcessEvent = NonNullable<MessageInitShape<typeof ProcessEventSchema>['event']>;

const KEEPALIVE_MS = 30000;
/** Output held for a client that reads slowly; past it, output is dropped (the end never is). */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
/** A frame of a process's stream is at most a 64 KiB chunk, base64 in JSON. */
const MAX_FRAME_BYTES = 128 * 1024;

/** envd's ProcessConfig as our process spec: E2B's paths, stdin open unless asked otherwise. */
export function processSpec(
  config: ProcessConfig | undefined,
  opts: { stdin?: boolean; pty?: { cols: number; rows: number }; tag?: string },
): ProcessSpec {
  if (!config?.cmd) throw new RemoteError(ErrorCodes.ValidationError, 'process.cmd is required');
  const spec: ProcessSpec = {
    cmd: config.cmd,
    args: config.args,
    envs: { ...config.envs },
    ...(config.cwd ? { cwd: toWorkspaceDir(config.cwd) } : {}),
    ...(opts.tag ? { tag: opts.tag } : {}),
    // envd keeps stdin open unless the caller says not to (the SDK's default is not to).
    stdin: opts.stdin ?? true,
    ...(opts.pty ? { pty: opts.pty } : {}),
  };
  const problem = processSpecError(spec);
  if (problem) throw new RemoteError(ErrorCodes.ValidationError, problem);
  return spec;
}

export function selectorOf(selector: ProtoSelector | undefined): ProcessSelector {
  const s = selector?.selector;
  if (s?.case === 'pid') return { pid: s.value };
  if (s?.case === 'tag') return { tag: s.value };
  throw new RemoteError(ErrorCodes.ValidationError, 'select the process by its pid or tag');
}

/** A listed process as envd's ProcessInfo, with E2B's paths. */
function processInfo(p: ProcessInfo) {
  return {
    pid: p.pid,
    ...(p.tag ? { tag: p.tag } : {}),
    config: {
      cmd: p.cmd,
      args: p.args,
      envs: p.envs,
      ...(p.cwd ? { cwd: fromWorkspacePath(p.cwd.replace(/^\/workspace\/?/, '')) } : {}),
    },
  };
}

/** A frame of a process's stream, checked: it crossed the bus. */
export function parseFrame(data: Uint8Array): ProcessFrame | null {
  if (data.length > MAX_FRAME_BYTES) return null;
  try {
    const f = JSON.parse(new TextDecoder().decode(data)) as Partial<Record<string, unknown>>;
    if (
      f.type === 'data' &&
      (f.stream === 'stdout' || f.stream === 'stderr' || f.stream === 'pty') &&
      typeof f.b64 === 'string'
    ) {
      return { type: 'data', stream: f.stream, b64: f.b64 };
    }
    if (f.type === 'end' && typeof f.exit_code === 'number' && typeof f.status === 'string') {
      return {
        type: 'end',
        exit_code: f.exit_code,
        status: f.status.slice(0, 200),
        ...(typeof f.error === 'string' ? { error: f.error.slice(0, 1000) } : {}),
        ...(f.sandbox_ended === true ? { sandbox_ended: true } : {}),
      };
    }
  } catch {
    // not a frame
  }
  return null;
}

/**
 * The events of one process's stream as a reader pulls them: a bounded queue (output past
 * MAX_BUFFERED_BYTES waits for nobody and is dropped), closed by the end or by the client.
 */
class ProcessEvents {
  private readonly items: ProcessEvent[] = [];
  private bytes = 0;
  private wake?: () => void;
  private done = false;

  /** The process did not end: its sandbox went. */
  sandboxEnded = false;

  push(frame: ProcessFrame): void {
    if (this.done) return;
    if (frame.type === 'end' && frame.sandbox_ended) {
      this.sandboxEnded = true;
      this.close();
      return;
    }
    if (frame.type === 'data') {
      const value = Buffer.from(frame.b64, 'base64');
      if (this.bytes + value.length > MAX_BUFFERED_BYTES) return;
      this.bytes += value.length;
      this.items.push({ case: 'data', value: { output: { case: frame.stream, value } } });
    } else {
      this.items.push({
        case: 'end',
        value: {
          exitCode: frame.exit_code,
          exited: true,
          status: frame.status,
          ...(frame.error ? { error: frame.error } : {}),
        },
      });
      this.done = true;
    }
    this.wake?.();
  }

  keepalive(): void {
    this.items.push({ case: 'keepalive', value: {} });
    this.wake?.();
  }

  /** The client went away. */
  close(): void {
    this.done = true;
    this.wake?.();
  }

  get ended(): boolean {
    return this.done;
  }

  async *drain(): AsyncGenerator<ProcessEvent> {
    for (;;) {
      while (this.items.length > 0) {
        const item = this.items.shift()!;
        if (item.case === 'data' && item.value.output?.value instanceof Uint8Array) {
          this.bytes -= item.value.output.value.length;
        }
        yield item;
        if (item.case === 'end') return;
      }
      if (this.done) return;
      await new Promise<void>((r) => (this.wake = r));
      this.wake = undefined;
    }
  }
}

/**
 * Streams a process's events to the client: subscribes to a fresh stream first, then asks the
 * runner to start or attach (so no byte and no end is missed), yields `start{pid}` and the rest.
 * When the client goes away the stream is detached; the process runs on (envd's behaviour).
 */
async function* processStream(
  nc: NatsConnection,
  ctx: HandlerContext,
  call: (streamId: string) => Promise<ProcessInfo | undefined>,
): AsyncGenerator<{ event: { event: ProcessEvent } }> {
  const streamId = `p${randomBytes(16).toString('hex')}`;
  const events = new ProcessEvents();
  const sub = nc.subscribe(streamSubject(streamId), {
    callback: (_err, m) => {
      const frame = parseFrame(m.data);
      if (frame) events.push(frame);
    },
  });
  const abort = () => events.close();
  ctx.signal.addEventListener('abort', abort, { once: true });
  const keepalive = setInterval(() => events.keepalive(), KEEPALIVE_MS);
  try {
    await nc.flush();
    const info = await guarded(() => call(streamId));
    if (!info) throw new ConnectError('the runner did not name the process', Code.Internal);
    yield { event: { event: { case: 'start', value: { pid: info.pid } } } };
    for await (const event of events.drain()) yield { event: { event } };
    // As envd's stream breaks with its sandbox: the SDK reads Unavailable as a TimeoutError.
    if (events.sandboxEnded) {
      throw new ConnectError('the sandbox was killed or reached its end of life', Code.Unavailable);
    }
  } finally {
    clearInterval(keepalive);
    ctx.signal.removeEventListener('abort', abort);
    sub.unsubscribe();
    if (!events.ended || ctx.signal.aborted) nc.publish(streamCancelSubject(streamId), '');
  }
}

const SIGNALS: Partial<Record<Signal, 'SIGTERM' | 'SIGKILL'>> = {
  [Signal.SIGTERM]: 'SIGTERM',
  [Signal.SIGKILL]: 'SIGKILL',
};

/**
 * envd's Process over our processes: each call one request to the runner holding the sandbox
 * (through the session-service), so a command never holds the session's turn and any api
 * process may signal or attach to it.
 */
export function processService(
  sessions: SandboxSessions,
  nc: NatsConnection,
): Partial<ServiceImpl<typeof Process>> {
  const call = async (ctx: HandlerContext, action: ProcessAction) => sessions.process(sandboxOf(ctx), action);

  return {
    start(req, ctx) {
      const spec = (() => {
        try {
          return processSpec(req.process, {
            stdin: req.stdin,
            tag: req.tag,
            pty: req.pty?.size ? { cols: req.pty.size.cols, rows: req.pty.size.rows } : undefined,
          });
        } catch (err) {
          throw toConnectError(err);
        }
      })();
      return processStream(nc, ctx, async (streamId) => {
        return (await call(ctx, { action: 'start', process: spec, stream_id: streamId })).process;
      });
    },

    connect(req, ctx) {
      const selector = (() => {
        try {
          return selectorOf(req.process);
        } catch (err) {
          throw toConnectError(err);
        }
      })();
      return processStream(nc, ctx, async (streamId) => {
        return (await call(ctx, { action: 'connect', selector, stream_id: streamId })).process;
      });
    },

    list: (_req, ctx) =>
      guarded(async () => ({
        processes: ((await call(ctx, { action: 'list' })).processes ?? [])
          // Watchers of watchDir are ours, not the caller's.
          .filter((p) => !p.tag?.startsWith('executor-watch-'))
          .map(processInfo),
      })),

    sendInput: (req, ctx) =>
      guarded(async () => {
        const input = req.input?.input;
        const data = input?.case === 'stdin' || input?.case === 'pty' ? input.value : new Uint8Array();
        await call(ctx, {
          action: 'input',
          selector: selectorOf(req.process),
          data_b64: Buffer.from(data).toString('base64'),
        });
        return {};
      }),

    /** A client stream: `start` names the process, then `data` messages are its input. */
    streamInput: (reqs, ctx) =>
      guarded(async () => {
        let selector: ProcessSelector | undefined;
        for await (const req of reqs) {
          const e = req.event;
          if (e.case === 'start') selector = selectorOf(e.value.process);
          else if (e.case === 'data') {
            if (!selector) throw new RemoteError(ErrorCodes.ValidationError, 'start names the process first');
            const input = e.value.input?.input;
            const data = input?.case === 'stdin' || input?.case === 'pty' ? input.value : new Uint8Array();
            await call(ctx, { action: 'input', selector, data_b64: Buffer.from(data).toString('base64') });
          }
        }
        return {};
      }),

    closeStdin: (req, ctx) =>
      guarded(async () => {
        await call(ctx, { action: 'close_stdin', selector: selectorOf(req.process) });
        return {};
      }),

    sendSignal: (req, ctx) =>
      guarded(async () => {
        const signal = SIGNALS[req.signal];
        if (!signal) throw new RemoteError(ErrorCodes.ValidationError, 'signal must be SIGTERM or SIGKILL');
        await call(ctx, { action: 'signal', selector: selectorOf(req.process), signal });
        return {};
      }),

    /** A PTY's new size (the only thing envd's Update changes). */
    update: (req, ctx) =>
      guarded(async () => {
        const size = req.pty?.size;
        if (!size) return {};
        await call(ctx, {
          action: 'resize',
          selector: selectorOf(req.process),
          size: { cols: size.cols, rows: size.rows },
        });
        return {};
      }),
  };
}
