import { posix } from 'node:path';
import { ErrorCodes, workspacePathError } from '@executor/contracts';
import { RemoteError } from '@executor/common';

/** E2B's home folder: the session's /workspace seen from an E2B client. */
export const E2B_HOME = '/home/user';
const WORKSPACE = '/workspace';

/**
 * An E2B path as a path relative to the session's /workspace (`''` is /workspace itself):
 * absolute under /home/user or /workspace, or relative to /home/user. Anything else, and
 * anything the workspace path rules refuse, is a VALIDATION_ERROR naming the path.
 */
export function toWorkspacePath(path: unknown): string {
  if (typeof path !== 'string' || path.length === 0 || path.length > 1024 || path.includes('\0')) {
    throw new RemoteError(
      ErrorCodes.ValidationError,
      'path must be a non-empty string of at most 1024 characters',
    );
  }
  const absolute = posix.normalize(path.startsWith('/') ? path : `${E2B_HOME}/${path}`).replace(/\/+$/, '');
  let rel: string | undefined;
  for (const root of [E2B_HOME, WORKSPACE]) {
    if (absolute === root) rel = '';
    else if (absolute.startsWith(`${root}/`)) rel = absolute.slice(root.length + 1);
  }
  if (rel === undefined) {
    throw new RemoteError(
      ErrorCodes.ValidationError,
      `${shown(path)}: only ${E2B_HOME} (the sandbox's workspace) can be reached`,
    );
  }
  if (rel === '') return rel;
  const problem = workspacePathError(rel);
  if (problem) throw new RemoteError(ErrorCodes.ValidationError, `${shown(path)}: ${problem}`);
  return rel;
}

/** A workspace-relative path (as the runner reports it) as E2B's absolute path. */
export function fromWorkspacePath(rel: string): string {
  return rel === '' || rel === '.' ? E2B_HOME : `${E2B_HOME}/${rel}`;
}

/** A folder for a command or context: its path under /workspace, as the runner takes it. */
export function toWorkspaceDir(path: string | undefined): string | undefined {
  if (path === undefined || path === '') return undefined;
  const rel = toWorkspacePath(path);
  return rel === '' ? WORKSPACE : `${WORKSPACE}/${rel}`;
}

function shown(path: string): string {
  return JSON.stringify(path.slice(0, 80));
}
