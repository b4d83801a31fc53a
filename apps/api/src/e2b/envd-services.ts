import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import {
  Code,
  ConnectError,
  createContextKey,
  type HandlerContext,
  type ServiceImpl,
} from '@connectrpc/connect';
import type { NatsConnection } from 'nats';
import { randomInt } from 'node:crypto';
import { ErrorCodes, streamCancelSubject, streamSubject, type FileEntry } from '@executor/contracts';
import { RemoteError } from '@executor/common';
import type { SandboxRef } from './e2b-caller';
import { fromWorkspacePath, toWorkspaceDir, toWorkspacePath } from './e2b-paths';
import {
  EntryInfoSchema,
  FileType,
  Filesystem,
  type EntryInfo,
} from './third_party/envd/gen/filesystem/filesystem_pb';
import {
  Process,
  type ProcessConfig,
  type ProcessEventSchema,
} from './third_party/envd/gen/process/process_pb';
import type { SandboxSessions } from './sandbox-sessions';

/** The sandbox a call is for, set by the controller from the request's routing header. */
export const SANDBOX = createContextKey<SandboxRef | undefined>(undefined);
/** The caller's key's longest run (max_timeout_s), when it has one: commands are held to it. */
export const RUN_CAP_S = createContextKey<number | undefined>(undefined);

/** Entries one ListDir answers at most, however deep it is asked to go. */
const MAX_LIST_ENTRIES = 10000;
const MAX_LIST_DEPTH = 8;
/** A command runs at most this long (our longest timeout); E2B's client may end it sooner. */
const COMMAND_TIMEOUT_S = 300;
const KEEPALIVE_MS = 30000;

const CONNECT_CODES: Partial<Record<string, Code>> = {
  [ErrorCodes.ValidationError]: Code.InvalidArgument,
  [ErrorCodes.FileRefused]: Code.InvalidArgument,
  [ErrorCodes.PayloadTooLarge]: Code.InvalidArgument,
  [ErrorCodes.UnsupportedLanguage]: Code.InvalidArgument,
  [ErrorCodes.NotFound]: Code.NotFound,
  [ErrorCodes.FileNotFound]: Code.NotFound,
  [ErrorCodes.SessionNotFound]: Code.NotFound,
  [ErrorCodes.SessionExpired]: Code.NotFound,
  [ErrorCodes.SessionDestroyed]: Code.NotFound,
  [ErrorCodes.SessionLost]: Code.NotFound,
  [ErrorCodes.Unauthenticated]: Code.Unauthenticated,
  [ErrorCodes.Forbidden]: Code.PermissionDenied,
  [ErrorCodes.RateLimited]: Code.ResourceExhausted,
  [ErrorCodes.ConcurrencyLimit]: Code.ResourceExhausted,
  [ErrorCodes.QuotaExceeded]: Code.ResourceExhausted,
  [ErrorCodes.DependencyUnavailable]: Code.Unavailable,
  [ErrorCodes.RunnerBusy]: Code.Unavailable,
  [ErrorCodes.RunnerLost]: Code.Unavailable,
};

/** Our error as the Connect error E2B's SDK maps to its own classes. */
export function toConnectError(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  if (err instanceof RemoteError) {
    return new ConnectError(err.message, CONNECT_CODES[err.code] ?? Code.Internal);
  }
  return new ConnectError('internal error', Code.Internal);
}

function sandboxOf(ctx: HandlerContext): SandboxRef {
  const ref = ctx.values.get(SANDBOX);
  if (!ref) throw new ConnectError('no sandbox', Code.NotFound);
  return ref;
}

async function guarded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw toConnectError(err);
  }
}

/** A workspace entry as envd's EntryInfo (E2B's paths; one user owns everything). */
export function entryInfo(e: FileEntry): EntryInfo {
  const dir = e.type === 'dir';
  return create(EntryInfoSchema, {
    name: e.name,
    type: dir ? FileType.DIRECTORY : e.type === 'link' ? FileType.SYMLINK : FileType.FILE,
    path: fromWorkspacePath(e.path),
    size: BigInt(Math.max(0, Math.floor(e.size))),
    mode: dir ? 0o755 : 0o644,
    permissions: dir ? 'drwxr-xr-x' : '-rw-r--r--',
    owner: 'user',
    group: 'user',
    ...(Number.isNaN(Date.parse(e.modified))
      ? {}
      : { modifiedTime: timestampFromDate(new Date(e.modified)) }),
  });
}

const HOME_ENTRY: FileEntry = { name: 'user', path: '', type: 'dir', size: 0, modified: '' };

/** Quotes a word for bash: single quotes, with each `'` closed, escaped and reopened. */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * The bash script a process of envd's Start stands for: the SDK's `commands.run` sends
 * `/bin/bash -l -c <command>`; anything else runs as its words, quoted. A `cwd` goes first.
 */
export function commandScript(config: ProcessConfig | undefined): string {
  if (!config?.cmd) throw new RemoteError(ErrorCodes.ValidationError, 'process.cmd is required');
  const { cmd, args } = config;
  const bash = /^(\/bin\/|\/usr\/bin\/)?(ba)?sh$/.test(cmd);
  const flags = args.slice(0, -1);
  const script =
    bash && args.length >= 2 && flags.every((f) => /^-[lic]+$/.test(f)) && flags.some((f) => f.includes('c'))
      ? args[args.length - 1]
      : [cmd, ...args].map(shellQuote).join(' ');
  const dir = toWorkspaceDir(config.cwd);
  return dir ? `cd ${shellQuote(dir)} || exit 1\n${script}` : script;
}

/** Where a process's output goes on the bus: one subject per (sandbox, pid), so any api may signal it. */
export function processStreamId(sessionId: string, pid: number): string {
  return `e2b-${sessionId}-${pid}`;
}

/** A queue an async generator reads while callbacks push to it. */
class Channel<T> {
  private readonly items: T[] = [];
  private wake?: () => void;
  private closed = false;

  push(item: T): void {
    this.items.push(item);
    this.wake?.();
  }

  close(): void {
    this.closed = true;
    this.wake?.();
  }

  async *drain(): AsyncGenerator<T> {
    for (;;) {
      while (this.items.length > 0) yield this.items.shift()!;
      if (this.closed) return;
      await new Promise<void>((r) => (this.wake = r));
      this.wake = undefined;
    }
  }
}

/** One event of a process's stream (the `event` oneof of envd's ProcessEvent). */
type StartEvent = NonNullable<MessageInitShape<typeof ProcessEventSchema>['event']>;

/** envd's Filesystem over the session's workspace. */
export function filesystemService(sessions: SandboxSessions): Partial<ServiceImpl<typeof Filesystem>> {
  const list = async (ref: SandboxRef, rel: string): Promise<FileEntry[]> =>
    (await sessions.files(ref, 'list', rel)).entries ?? [];

  const stat = async (ref: SandboxRef, rel: string): Promise<FileEntry> => {
    if (rel === '') return HOME_ENTRY;
    const slash = rel.lastIndexOf('/');
    const parent = slash < 0 ? '' : rel.slice(0, slash);
    const name = rel.slice(slash + 1);
    let entries: FileEntry[];
    try {
      entries = await list(ref, parent);
    } catch (err) {
      // A parent that is not a directory holds nothing.
      if (err instanceof RemoteError && err.code === ErrorCodes.FileRefused) entries = [];
      else throw err;
    }
    const entry = entries.find((e) => e.name === name);
    if (!entry) throw new ConnectError(`${fromWorkspacePath(rel)} does not exist`, Code.NotFound);
    return entry;
  };

  return {
    stat: (req, ctx) =>
      guarded(async () => ({ entry: entryInfo(await stat(sandboxOf(ctx), toWorkspacePath(req.path))) })),

    listDir: (req, ctx) =>
      guarded(async () => {
        const ref = sandboxOf(ctx);
        const root = toWorkspacePath(req.path);
        const depth = Math.min(Math.max(req.depth || 1, 1), MAX_LIST_DEPTH);
        const out: FileEntry[] = [];
        let level = [root];
        for (let d = 0; d < depth && level.length > 0 && out.length < MAX_LIST_ENTRIES; d++) {
          const next: string[] = [];
          for (const dir of level) {
            for (const e of await list(ref, dir)) {
              if (out.length >= MAX_LIST_ENTRIES) break;
              out.push(e);
              if (e.type === 'dir') next.push(e.path);
            }
          }
          level = next;
        }
        return { entries: out.map(entryInfo) };
      }),

    makeDir: (req, ctx) =>
      guarded(async () => {
        const ref = sandboxOf(ctx);
        const rel = toWorkspacePath(req.path);
        const existing = await stat(ref, rel).catch(() => undefined);
        if (existing) throw new ConnectError(`${fromWorkspacePath(rel)} already exists`, Code.AlreadyExists);
        await sessions.files(ref, 'mkdir', rel);
        return { entry: entryInfo(await stat(ref, rel)) };
      }),

    remove: (req, ctx) =>
      guarded(async () => {
        await sessions.files(sandboxOf(ctx), 'delete', toWorkspacePath(req.path));
        return {};
      }),

    /** A rename is `mv` in the sandbox: paths that passed the workspace rules, quoted. */
    move: (req, ctx) =>
      guarded(async () => {
        const ref = sandboxOf(ctx);
        const from = toWorkspacePath(req.source);
        const to = toWorkspacePath(req.destination);
        if (from === '' || to === '')
          throw new RemoteError(ErrorCodes.ValidationError, 'cannot move /home/user itself');
        await stat(ref, from);
        const reply = await sessions.execute(ref, {
          code: `mkdir -p -- ${shellQuote(posixDir(`/workspace/${to}`))} && mv -f -T -- ${shellQuote(`/workspace/${from}`)} ${shellQuote(`/workspace/${to}`)}`,
          language: 'bash',
          env: {},
          timeout: 30,
          max_timeout: ctx.values.get(RUN_CAP_S),
        });
        if (reply.exit_code !== 0) {
          throw new ConnectError(
            `could not move ${fromWorkspacePath(from)}: ${reply.stderr.slice(0, 500)}`,
            Code.Internal,
          );
        }
        return { entry: entryInfo(await stat(ref, to)) };
      }),
  };
}

function posixDir(path: string): string {
  return path.slice(0, path.lastIndexOf('/')) || '/';
}

/**
 * envd's Process: a command runs as a bash run in the session (its output streamed over the
 * bus as it happens), with a pid of our choosing that names its stream, so a signal from any
 * api process reaches it. A command holds the session's turn while it runs.
 */
export function processService(
  sessions: SandboxSessions,
  nc: NatsConnection,
): Partial<ServiceImpl<typeof Process>> {
  return {
    async *start(req, ctx): AsyncGenerator<{ event: { event: StartEvent } }> {
      const ref = sandboxOf(ctx);
      let script: string;
      try {
        script = commandScript(req.process);
        if (req.pty) throw new RemoteError(ErrorCodes.ValidationError, 'a PTY is not available here');
      } catch (err) {
        throw toConnectError(err);
      }
      const pid = randomInt(1000, 2 ** 31 - 1);
      const streamId = processStreamId(ref.session_id, pid);
      const events = new Channel<StartEvent>();
      const sub = nc.subscribe(streamSubject(streamId), {
        callback: (_err, m) => {
          const frame = parseOutput(m.data);
          if (frame) {
            events.push({
              case: 'data',
              value: { output: { case: frame.type, value: Buffer.from(frame.text, 'utf8') } },
            });
          }
        },
      });
      await nc.flush();
      const cancel = () => nc.publish(streamCancelSubject(streamId), '');
      ctx.signal.addEventListener('abort', cancel, { once: true });
      const keepalive = setInterval(() => events.push({ case: 'keepalive', value: {} }), KEEPALIVE_MS);
      let failure: unknown;
      const run = sessions
        .execute(
          ref,
          {
            code: script,
            language: 'bash',
            env: { ...req.process!.envs },
            timeout: COMMAND_TIMEOUT_S,
            max_timeout: ctx.values.get(RUN_CAP_S),
          },
          streamId,
        )
        .then(async (reply) => {
          await sub.drain();
          const exitCode = reply.timed_out ? 124 : reply.exit_code;
          events.push({
            case: 'end',
            value: {
              exitCode,
              exited: true,
              status: reply.timed_out ? 'timed out' : `exit status ${exitCode}`,
              ...(reply.timed_out
                ? { error: `the command passed ${COMMAND_TIMEOUT_S} s and was stopped` }
                : {}),
            },
          });
        })
        .catch((err: unknown) => {
          failure = err;
        })
        .finally(() => events.close());
      try {
        yield { event: { event: { case: 'start', value: { pid } } } };
        for await (const event of events.drain()) yield { event: { event } };
        await run;
        if (failure) throw toConnectError(failure);
      } finally {
        clearInterval(keepalive);
        ctx.signal.removeEventListener('abort', cancel);
        if (!sub.isClosed()) sub.unsubscribe();
      }
    },

    /** SIGKILL and SIGTERM both stop the command (it is interrupted; the session lives on). */
    sendSignal: (req, ctx) =>
      guarded(async () => {
        const ref = sandboxOf(ctx);
        const selector = req.process?.selector;
        if (selector?.case !== 'pid') {
          throw new RemoteError(ErrorCodes.ValidationError, 'select the process by its pid');
        }
        await sessions.get(ref);
        nc.publish(streamCancelSubject(processStreamId(ref.session_id, selector.value)), '');
        return {};
      }),
  };
}

function parseOutput(data: Uint8Array): { type: 'stdout' | 'stderr'; text: string } | null {
  if (data.length > 4 * 1024 * 1024) return null;
  try {
    const frame = JSON.parse(new TextDecoder().decode(data)) as { type?: unknown; text?: unknown };
    if ((frame.type === 'stdout' || frame.type === 'stderr') && typeof frame.text === 'string') {
      return { type: frame.type, text: frame.text };
    }
  } catch {
    // not a frame
  }
  return null;
}
