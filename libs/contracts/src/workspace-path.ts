/**
 * Path rules for files inside a sandbox's `/workspace` (README, Sessions): relative only,
 * no `..`, no NUL, safe characters only, no dangerous extensions.
 * Pure: used by the api (to refuse early) and by the runner (never to trust the caller).
 */
export const MAX_FILE_BYTES = 10 * 1024 * 1024;
export const MAX_TOTAL_FILE_BYTES = 100 * 1024 * 1024;
export const MAX_PATH_LENGTH = 255;

/** Extensions refused for uploaded files: executables and scripts meant for a host. */
export const DANGEROUS_EXTENSIONS = [
  'sh', 'bash', 'zsh', 'csh', 'ksh', 'exe', 'dll', 'so', 'dylib', 'bin', 'elf', 'com', 'bat', 'cmd',
  'ps1', 'vbs', 'vbe', 'scr', 'msi', 'jar', 'apk', 'deb', 'rpm', 'run', 'desktop',
] as const; // prettier-ignore

const SAFE_SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._ -]*$/;

/** Returns null when the path is acceptable, or a message saying why it is not. */
export function workspacePathError(path: unknown): string | null {
  if (typeof path !== 'string' || path.length === 0) return 'path must be a non-empty string';
  if (path.includes('\0')) return 'path must not contain NUL bytes';
  if (path.length > MAX_PATH_LENGTH) return `path must be at most ${MAX_PATH_LENGTH} characters`;
  if (path.startsWith('/') || path.startsWith('\\')) return 'path must be relative to /workspace';
  if (path.includes('\\')) return 'path must use / as separator';
  const segments = path.split('/');
  for (const segment of segments) {
    if (segment === '..') return 'path must not contain ..';
    if (segment === '' || segment === '.') return 'path must not contain empty or . segments';
    if (!SAFE_SEGMENT.test(segment)) {
      return 'path may only contain letters, digits, space, _ . - and /, and no segment may start with . or -';
    }
  }
  // Trailing dots and spaces are dropped by some file systems and tools (`x.exe.` is `x.exe`):
  // the extension rule looks at the name without them.
  const last = segments[segments.length - 1].replace(/[. ]+$/, '');
  const dot = last.lastIndexOf('.');
  if (dot > 0) {
    const ext = last.slice(dot + 1).toLowerCase();
    if ((DANGEROUS_EXTENSIONS as readonly string[]).includes(ext))
      return `files with extension .${ext} are refused`;
  }
  return null;
}
