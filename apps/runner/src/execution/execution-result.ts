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
}

/** Results and output files may not exceed this in one reply (NATS carries it whole). */
const MAX_RICH_BYTES = 16 * 1024 * 1024;

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

export function toResult(cmd: RunContext, o: KernelOutcome): ExecutionResult {
  const stdout = o.stdout.text();
  const stderr = o.stderr.text();
  let status: ExecutionStatus;
  let error: ExecutionError | undefined;
  if (o.timedOut) {
    status = 'timeout';
    error = {
      name: 'TimeoutError',
      value: `execution exceeded the timeout of ${cmd.timeout} s and was killed`,
    };
  } else if (o.oomKilled) {
    status = 'oom';
    error = {
      name: 'MemoryError',
      value: `the sandbox ran out of memory (limit ${cmd.template.memory_limit}) and was killed`,
    };
  } else if (o.died) {
    status = 'sandbox_died';
    error = { name: 'SandboxDied', value: `the sandbox stopped during the run (exit code ${o.exitCode})` };
  } else if (o.exitCode === 0) {
    status = 'success';
  } else {
    status = 'error';
    error = o.error ?? { name: 'ExitError', value: `the program exited with code ${o.exitCode}` };
  }

  let budget = MAX_RICH_BYTES;
  let richTruncated = false;
  const results: RichResult[] = [];
  const artifacts: Artifact[] = [];
  for (const r of o.results) {
    const size = JSON.stringify(r.data).length;
    if (size > budget) {
      richTruncated = true;
      continue;
    }
    budget -= size;
    results.push(r);
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
    if (f.b64.length > budget) {
      richTruncated = true;
      continue;
    }
    budget -= f.b64.length;
    artifacts.push({ type: f.mime, name: f.name, content: f.b64, encoding: 'base64', size: f.size });
  }

  return {
    status,
    execution_id: cmd.execution_id,
    template: cmd.template.name,
    language: cmd.language,
    exit_code: o.exitCode,
    stdout,
    stderr,
    execution_time: Math.round(o.durationMs) / 1000,
    results,
    artifacts,
    ...(error ? { error } : {}),
    timed_out: o.timedOut,
    oom_killed: o.oomKilled,
    truncated: o.stdout.truncated || o.stderr.truncated || richTruncated,
  };
}
