import { Code, ConnectError, type HandlerContext, type ServiceImpl } from '@connectrpc/connect';
import type { NatsConnection } from 'nats';
import { randomBytes } from 'node:crypto';
import { ErrorCodes, streamCancelSubject, streamSubject, workspacePathError } from '@executor/contracts';
import { RemoteError } from '@executor/common';
import { toWorkspacePath } from './e2b-paths';
import { parseFrame } from './envd-process';
import { SANDBOX, toConnectError } from './envd-services';
import { EventType, Filesystem } from './third_party/envd/gen/filesystem/filesystem_pb';
import type { SandboxSessions } from './sandbox-sessions';

/** Watchers are processes in the sandbox with a tag of this prefix (hidden from `commands.list`). */
export const WATCH_TAG_PREFIX = 'executor-watch-';
const KEEPALIVE_MS = 30000;
/** Entries one snapshot holds at most; a line longer than this is not one of ours. */
const MAX_ENTRIES = 10000;
const MAX_LINE = 4200;
/** Events held for a client that reads slowly, at most; more are dropped. */
const MAX_QUEUED = 10000;

/**
 * Polls a folder twice a second with find (GNU findutils and coreutils are in every image) and
 * prints what changed between two snapshots: `comm -3` puts a line only in the old one first,
 * one only in the new one after a tab. A line is `path TAB type TAB mtime TAB size`.
 */
const WATCH_SCRIPT = [
  'set -f; dir=$1; depth=$2',
  'old=/tmp/.executor-watch-$$.a; new=/tmp/.executor-watch-$$.b',
  `snap() { find "$dir" -mindepth 1 -maxdepth "$depth" -printf '%P\\t%y\\t%T@\\t%s\\n' 2>/dev/null | head -n ${MAX_ENTRIES} | LC_ALL=C sort; }`,
  'snap > "$old"; echo ready',
  'while sleep 0.5; do snap > "$new"; LC_ALL=C comm -3 "$old" "$new"; mv -f "$new" "$old"; done',
].join('\n');

interface Entry {
  path: string;
  type: string;
  stamp: string;
}

/** One line of comm's output as (side, entry), or null for anything that is not one (it came from the sandbox). */
export function parseChange(line: string): { side: 'old' | 'new'; entry: Entry } | null {
  if (line.length > MAX_LINE) return null;
  const side = line.startsWith('\t') ? 'new' : 'old';
  const [path, type, mtime, size, ...rest] = (side === 'new' ? line.slice(1) : line).split('\t');
  if (
    rest.length > 0 ||
    !path ||
    !/^[a-zA-Z]$/.test(type ?? '') ||
    !/^[0-9.]+$/.test(mtime ?? '') ||
    !/^[0-9]+$/.test(size ?? '')
  ) {
    return null;
  }
  return { side, entry: { path, type, stamp: `${mtime}/${size}` } };
}

/** What one batch of changes means, as inotify would have said it: created, written, removed. */
export function changesOf(lines: string[]): Array<{ name: string; type: EventType }> {
  const seen = new Map<string, { old?: Entry; new?: Entry }>();
  for (const line of lines) {
    const c = parseChange(line);
    if (!c || workspacePathError(c.entry.path)) continue;
    const both = seen.get(c.entry.path) ?? {};
    both[c.side] = c.entry;
    seen.set(c.entry.path, both);
  }
  const out: Array<{ name: string; type: EventType }> = [];
  for (const [name, { old, new: now }] of seen) {
    if (old && now) {
      // A folder's time moves when its entries change: those have their own events.
      if (now.type !== 'd') out.push({ name, type: EventType.WRITE });
    } else if (now) out.push({ name, type: EventType.CREATE });
    else out.push({ name, type: EventType.REMOVE });
  }
  return out;
}

type WatchEvent =
  | { case: 'start'; value: object }
  | { case: 'filesystem'; value: { name: string; type: EventType } }
  | { case: 'keepalive'; value: object };

/**
 * envd's WatchDir: a watcher process in the sandbox (see WATCH_SCRIPT) streams its changes
 * over the bus; `start` is sent once its first snapshot is taken, so every change after the
 * SDK's watchDir returns is seen. The watcher is killed when the client goes away.
 */
export function watchService(
  sessions: SandboxSessions,
  nc: NatsConnection,
): Pick<ServiceImpl<typeof Filesystem>, 'watchDir'> {
  return {
    async *watchDir(req, ctx: HandlerContext): AsyncGenerator<{ event: WatchEvent }> {
      const ref = ctx.values.get(SANDBOX);
      if (!ref) throw new ConnectError('no sandbox', Code.NotFound);
      let rel: string;
      try {
        rel = toWorkspacePath(req.path);
        const entries = (await sessions.files(ref, 'list', rel)).entries;
        if (!entries) throw new RemoteError(ErrorCodes.FileNotFound, `${req.path} is not a folder`);
      } catch (err) {
        throw toConnectError(err);
      }
      const streamId = `w${randomBytes(16).toString('hex')}`;
      const tag = `${WATCH_TAG_PREFIX}${streamId}`;
      const queue: WatchEvent[] = [];
      let wake: (() => void) | undefined;
      let done = false;
      let ready = false;
      let partial = '';
      const push = (e: WatchEvent) => {
        if (queue.length < MAX_QUEUED) queue.push(e);
        wake?.();
      };
      const sub = nc.subscribe(streamSubject(streamId), {
        callback: (_err, m) => {
          const frame = parseFrame(m.data);
          if (!frame) return;
          if (frame.type === 'end') {
            done = true;
            wake?.();
            return;
          }
          if (frame.stream !== 'stdout') return;
          const text = partial + Buffer.from(frame.b64, 'base64').toString('utf8');
          const lines = text.split('\n');
          partial = (lines.pop() ?? '').slice(0, MAX_LINE + 1);
          if (!ready && lines[0] === 'ready') {
            ready = true;
            lines.shift();
            push({ case: 'start', value: {} });
          }
          for (const change of changesOf(lines)) push({ case: 'filesystem', value: change });
        },
      });
      const abort = () => {
        done = true;
        wake?.();
      };
      ctx.signal.addEventListener('abort', abort, { once: true });
      const keepalive = setInterval(() => push({ case: 'keepalive', value: {} }), KEEPALIVE_MS);
      try {
        await nc.flush();
        await sessions
          .process(ref, {
            action: 'start',
            process: {
              cmd: '/bin/sh',
              args: [
                '-c',
                WATCH_SCRIPT,
                'executor-watch',
                rel === '' ? '/workspace' : `/workspace/${rel}`,
                req.recursive ? '16' : '1',
              ],
              envs: {},
              tag,
              stdin: false,
            },
            stream_id: streamId,
          })
          .catch((err: unknown) => {
            throw toConnectError(err);
          });
        for (;;) {
          while (queue.length > 0) yield { event: queue.shift()! };
          if (done) break;
          await new Promise<void>((r) => (wake = r));
          wake = undefined;
        }
        if (!ready) throw new ConnectError('the watcher ended before it started', Code.Internal);
      } finally {
        clearInterval(keepalive);
        ctx.signal.removeEventListener('abort', abort);
        sub.unsubscribe();
        nc.publish(streamCancelSubject(streamId), '');
        void sessions
          .process(ref, { action: 'signal', selector: { tag }, signal: 'SIGKILL' })
          .catch(() => undefined);
      }
    },
  };
}
