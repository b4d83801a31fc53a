import type { SessionRefCommand } from './sessions';

/**
 * Processes beside the kernel in a session's sandbox (E2B's commands and PTYs): started with
 * `docker exec` by the runner holding the sandbox, as the sandbox's user, and streamed over the
 * bus. The kernel is not involved, so a running process never holds the session's turn.
 */

/** Processes running at once in one sandbox; one more is a 429 QUOTA_EXCEEDED. */
export const MAX_PROCESSES_PER_SANDBOX = 32;
/** Bytes of output (stdout, stderr and PTY together) one process may send; the rest is dropped. */
export const MAX_PROCESS_OUTPUT_BYTES = 16 * 1024 * 1024;
/** Bytes of input one call may write to a process. */
export const MAX_PROCESS_INPUT_BYTES = 256 * 1024;
/** Streams watching one process at once (its start and later connects); the oldest is dropped. */
export const MAX_PROCESS_WATCHERS = 4;

export interface PtySize {
  cols: number;
  rows: number;
}

/** What to start. `cwd` is an absolute path inside the sandbox (under /workspace). */
export interface ProcessSpec {
  cmd: string;
  args: string[];
  envs: Record<string, string>;
  cwd?: string;
  tag?: string;
  /** Keep stdin open for input (a PTY always has it). */
  stdin: boolean;
  pty?: PtySize;
}

/** A running process as listed. */
export interface ProcessInfo {
  pid: number;
  tag?: string;
  cmd: string;
  args: string[];
  envs: Record<string, string>;
  cwd?: string;
  pty: boolean;
}

/** A process by its pid (inside the sandbox) or by the tag it was started with. */
export type ProcessSelector = { pid: number } | { tag: string };

export type ProcessAction =
  /** `stream_id`: where its output goes (the caller subscribes first). */
  | { action: 'start'; process: ProcessSpec; stream_id: string }
  /** Another stream for a running process's output from now on. */
  | { action: 'connect'; selector: ProcessSelector; stream_id: string }
  | { action: 'list' }
  | { action: 'input'; selector: ProcessSelector; data_b64: string }
  | { action: 'close_stdin'; selector: ProcessSelector }
  | { action: 'signal'; selector: ProcessSelector; signal: 'SIGTERM' | 'SIGKILL' }
  | { action: 'resize'; selector: ProcessSelector; size: PtySize };

/** api -> session-service. */
export type SessionProcessCommand = SessionRefCommand & ProcessAction;

/** session-service -> the runner holding the session's sandbox. */
export type RunnerSessionProcess = {
  session_id: string;
  tenant_id: string;
  correlation_id?: string;
} & ProcessAction;

export interface ProcessReply {
  /** The process a start, connect or signal was about. */
  process?: ProcessInfo;
  processes?: ProcessInfo[];
}

/**
 * One message on a process's stream (`streamSubject(stream_id)`): output as it comes, in chunks
 * of at most 64 KiB, then its end. A cancel on `streamCancelSubject(stream_id)` detaches the
 * stream; the process runs on.
 */
export type ProcessFrame =
  | { type: 'data'; stream: 'stdout' | 'stderr' | 'pty'; b64: string }
  /** `sandbox_ended`: it did not exit, its sandbox went (killed, expired, lost). */
  | { type: 'end'; exit_code: number; status: string; error?: string; sandbox_ended?: boolean };

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,255}$/;
/** A command line's words and environment together, in bytes (Linux's own limit is 2 MiB). */
const MAX_SPEC_BYTES = 256 * 1024;
const MAX_TAG_CHARS = 256;

/**
 * Why a process spec cannot be started, or null: it comes from the caller, so every field is
 * checked for type and size (no NUL anywhere; `cwd` absolute under /workspace, without `..`).
 */
export function processSpecError(spec: unknown): string | null {
  if (typeof spec !== 'object' || spec === null) return 'process is required';
  const s = spec as Partial<Record<keyof ProcessSpec, unknown>>;
  if (typeof s.cmd !== 'string' || s.cmd.length === 0) return 'process.cmd must be a non-empty string';
  if (!Array.isArray(s.args) || s.args.some((a) => typeof a !== 'string'))
    return 'process.args must be a list of strings';
  if (typeof s.envs !== 'object' || s.envs === null || Array.isArray(s.envs))
    return 'process.envs must be an object of strings';
  const envs = Object.entries(s.envs as Record<string, unknown>);
  for (const [k, v] of envs) {
    if (!ENV_NAME.test(k)) return `process.envs: ${JSON.stringify(k.slice(0, 64))} is not a variable name`;
    if (typeof v !== 'string') return `process.envs.${k} must be a string`;
  }
  const words = [s.cmd, ...(s.args as string[]), ...envs.flat()] as string[];
  if (words.some((w) => w.includes('\0'))) return 'process: no NUL characters';
  if (words.reduce((n, w) => n + Buffer.byteLength(w), 0) > MAX_SPEC_BYTES)
    return `process: command, arguments and environment take at most ${MAX_SPEC_BYTES} bytes`;
  if (s.cwd !== undefined) {
    if (typeof s.cwd !== 'string' || !/^\/workspace(\/|$)/.test(s.cwd) || s.cwd.includes('\0'))
      return 'process.cwd must be a folder under /workspace';
    if (s.cwd.split('/').includes('..')) return 'process.cwd: no ".." in it';
  }
  if (s.tag !== undefined && (typeof s.tag !== 'string' || s.tag.length > MAX_TAG_CHARS))
    return `process.tag must be a string of at most ${MAX_TAG_CHARS} characters`;
  if (typeof s.stdin !== 'boolean') return 'process.stdin must be a boolean';
  if (s.pty !== undefined && ptySizeError(s.pty)) return `process.pty: ${ptySizeError(s.pty)}`;
  return null;
}

/** Why a terminal size is refused, or null. */
export function ptySizeError(size: unknown): string | null {
  const s = size as Partial<PtySize> | null;
  const ok = (n: unknown) => typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 1000;
  return s && ok(s.cols) && ok(s.rows) ? null : 'cols and rows must be whole numbers from 1 to 1000';
}

/** The program's name as events record it: its last path segment, safe characters only. */
export function commandName(cmd: string): string {
  const base = cmd.slice(cmd.lastIndexOf('/') + 1);
  return base.replace(/[^A-Za-z0-9._+-]/g, '_').slice(0, 64) || '_';
}
