import type { ExecutionError } from '@executor/contracts';

const ERROR_LINE =
  /^([A-Za-z_][\w.]*(?:Error|Exception|Interrupt|Exit|Warning|Iteration|Timeout))(?::\s?(.*))?$/;

/**
 * Reads the exception Python printed last on stderr: its name, message and traceback.
 * Null when stderr does not end with one (the program failed some other way).
 */
export function parsePythonError(stderr: string): ExecutionError | null {
  const lines = stderr.replace(/\s+$/, '').split('\n');
  const last = lines[lines.length - 1] ?? '';
  const match = ERROR_LINE.exec(last);
  if (!match) return null;
  let start = stderr.lastIndexOf('Traceback (most recent call last):');
  if (start < 0) start = stderr.lastIndexOf('  File "<code>"');
  const traceback = start >= 0 ? stderr.slice(start).replace(/\s+$/, '') : last;
  return { name: match[1], value: match[2] ?? '', traceback };
}
