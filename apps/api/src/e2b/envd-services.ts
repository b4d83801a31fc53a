import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import {
  Code,
  ConnectError,
  createContextKey,
  type HandlerContext,
  type ServiceImpl,
} from '@connectrpc/connect';
import { ErrorCodes, type FileEntry } from '@executor/contracts';
import { RemoteError } from '@executor/common';
import type { SandboxRef } from './e2b-caller';
import { fromWorkspacePath, toWorkspacePath } from './e2b-paths';
import {
  EntryInfoSchema,
  FileType,
  Filesystem,
  type EntryInfo,
} from './third_party/envd/gen/filesystem/filesystem_pb';
import type { SandboxSessions } from './sandbox-sessions';

/** The sandbox a call is for, set by the controller from the request's routing header. */
export const SANDBOX = createContextKey<SandboxRef | undefined>(undefined);
/** The caller's key's longest run (max_timeout_s), when it has one: commands are held to it. */
export const RUN_CAP_S = createContextKey<number | undefined>(undefined);

/** Entries one ListDir answers at most, however deep it is asked to go. */
const MAX_LIST_ENTRIES = 10000;
const MAX_LIST_DEPTH = 8;

const CONNECT_CODES: Partial<Record<string, Code>> = {
  [ErrorCodes.ValidationError]: Code.InvalidArgument,
  [ErrorCodes.FileRefused]: Code.InvalidArgument,
  [ErrorCodes.PayloadTooLarge]: Code.InvalidArgument,
  [ErrorCodes.UnsupportedLanguage]: Code.InvalidArgument,
  [ErrorCodes.NotFound]: Code.NotFound,
  [ErrorCodes.SandboxError]: Code.Internal,
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

/** The sandbox the guard resolved for this RPC (its token opened it). */
export function sandboxOf(ctx: HandlerContext): SandboxRef {
  const ref = ctx.values.get(SANDBOX);
  if (!ref) throw new ConnectError('no sandbox', Code.NotFound);
  return ref;
}

/** Runs an RPC's work, answering any failure as a ConnectError with our code's status. */
export async function guarded<T>(work: () => Promise<T>): Promise<T> {
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
