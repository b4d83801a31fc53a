import { spawn, type SpawnOptions } from 'node:child_process';

/** How a long command ended: its exit code (null when killed) and the tail of its output. */
export interface CommandRun {
  code: number | null;
  out: string;
}

/**
 * Runs a long command (a build, a deployment) to its end, keeping the last `keepChars` of its
 * stdout and stderr together; SIGTERM after `timeoutMs`. Never rejects: the caller judges the code.
 */
export function runToEnd(
  command: string,
  args: string[],
  options: Pick<SpawnOptions, 'cwd' | 'env'> & { timeoutMs: number; keepChars: number },
): Promise<CommandRun> {
  return new Promise((res) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env });
    let out = '';
    const keep = (d: Buffer) => (out = (out + d.toString()).slice(-options.keepChars));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => child.kill('SIGTERM'), options.timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      res({ code, out });
    });
  });
}
