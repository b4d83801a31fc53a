import type {
  Artifact,
  ExecutionError,
  ExecutionResult,
  ExecutionStatus,
  RichResult,
  TemplateSpec,
} from '@executor/contracts';
import type { KernelOutcome } from '../sandbox/sandbox';

/** What a result needs to know of the run it reports. */
export interface RunContext {
  execution_id: string;
  template: TemplateSpec;
  language: string;
  timeout: number;
  /** The encoded result must stay under this many bytes (what the bus carries, less a margin). */
  replyBytes: number;
}

const EXTENSIONS: Record<string, string> = {
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/svg+xml': 'svg',
  'text/html': 'html',
  'application/json': 'json',
  'text/markdown': 'md',
  'text/latex': 'tex',
};
const BINARY = new Set(['image/png', 'image/jpeg', 'image/gif', 'application/pdf']);

export function toResult(cmd: RunContext, outcome: KernelOutcome): ExecutionResult {
  const o = outcome.output;
  const stdout = o.stdout.text();
  const stderr = o.stderr.text();
  let status: ExecutionStatus;
  let error: ExecutionError | undefined;
  if (outcome.timedOut) {
    status = 'timeout';
    error = {
      name: 'TimeoutError',
      value: `execution exceeded the timeout of ${cmd.timeout} s and was killed`,
    };
  } else if (outcome.oomKilled) {
    status = 'oom';
    error = {
      name: 'MemoryError',
      value: `the sandbox ran out of memory (limit ${cmd.template.memory_limit}) and was killed`,
    };
  } else if (outcome.died) {
    status = 'sandbox_died';
    error = { name: 'SandboxDied', value: `the sandbox stopped during the run (exit code ${o.exitCode})` };
  } else if (o.protocolError) {
    status = 'error';
    error = { name: 'SandboxProtocolError', value: o.protocolError };
  } else if (o.exitCode === 0) {
    status = 'success';
  } else {
    status = 'error';
    error = o.error ?? { name: 'ExitError', value: `the program exited with code ${o.exitCode}` };
  }

  // Results and files were counted against the run's budget as they arrived; the reply as a
  // whole is fitted to the bus below.
  const results: RichResult[] = [...o.results];
  const artifacts: Artifact[] = [];
  for (const r of o.results) {
    const mime = Object.keys(EXTENSIONS).find((m) => m in r.data);
    if (mime) {
      const value = r.data[mime];
      const content = typeof value === 'string' ? value : JSON.stringify(value);
      const binary = BINARY.has(mime);
      artifacts.push({
        type: mime,
        name: `${mime === 'image/png' || mime === 'image/jpeg' ? 'figure' : 'result'}-${artifacts.length + 1}.${EXTENSIONS[mime]}`,
        content,
        encoding: binary ? 'base64' : 'utf8',
        size: binary ? Buffer.byteLength(content, 'base64') : Buffer.byteLength(content),
      });
    }
  }
  for (const f of o.files) {
    artifacts.push({ type: f.mime, name: f.name, content: f.b64, encoding: 'base64', size: f.size });
  }

  const result: ExecutionResult = {
    status,
    execution_id: cmd.execution_id,
    template: cmd.template.name,
    language: cmd.language,
    exit_code: o.exitCode,
    stdout,
    stderr,
    execution_time: Math.round(outcome.durationMs) / 1000,
    results,
    artifacts,
    ...(error ? { error } : {}),
    timed_out: outcome.timedOut,
    oom_killed: outcome.oomKilled,
    truncated: o.stdout.truncated || o.stderr.truncated || o.richTruncated,
  };
  return fitReply(result, cmd.replyBytes);
}

const bytesOf = (value: unknown): number => Buffer.byteLength(JSON.stringify(value));

/**
 * Makes the encoded result fit in `limit` bytes, whatever the sandbox wrote (JSON escaping
 * can make text up to six times longer): artifacts go first (the last ones first), then rich
 * results, then the traceback and the output text are cut. Whatever was dropped, `truncated`
 * says so.
 */
export function fitReply<T extends ExecutionResult>(result: T, limit: number): T {
  let size = bytesOf(result);
  if (size <= limit) return result;
  result.truncated = true;
  while (size > limit && result.artifacts.length > 0) size -= bytesOf(result.artifacts.pop()) + 1;
  while (size > limit && result.results.length > 0) size -= bytesOf(result.results.pop()) + 1;
  size = bytesOf(result);
  if (size > limit && result.error) {
    result.error.traceback = '[traceback removed: the result was too large]';
    result.error.value = result.error.value.slice(0, 4096);
    size = bytesOf(result);
  }
  // Output text last: halve the longer stream until the whole fits.
  while (size > limit && result.stdout.length + result.stderr.length > 0) {
    const key = result.stdout.length >= result.stderr.length ? 'stdout' : 'stderr';
    result[key] = result[key].slice(0, Math.floor(result[key].length / 2));
    size = bytesOf(result);
  }
  return result;
}
