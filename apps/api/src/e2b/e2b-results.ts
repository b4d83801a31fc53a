import type { ExecutionError, RichResult, SessionExecuteReply, StreamFrame } from '@executor/contracts';

/** A MIME key of our rich results and the field E2B's `Result` reads it from. */
const E2B_FIELDS: Record<string, string> = {
  'text/plain': 'text',
  'text/html': 'html',
  'text/markdown': 'markdown',
  'image/svg+xml': 'svg',
  'image/png': 'png',
  'image/jpeg': 'jpeg',
  'application/pdf': 'pdf',
  'text/latex': 'latex',
  'application/json': 'json',
  'application/javascript': 'javascript',
  'application/vnd.executor.chart+json': 'chart',
  'application/vnd.executor.dataframe+json': 'data',
};

/** One line of E2B's `/execute` NDJSON answer. */
export type E2bExecuteLine =
  | { type: 'stdout' | 'stderr'; text: string; timestamp: string }
  | ({ type: 'result'; is_main_result: boolean } & Record<string, unknown>)
  | { type: 'error'; name: string; value: string; traceback: string }
  | { type: 'number_of_executions'; execution_count: number };

/** A rich result as E2B sends it: its MIME bundle under E2B's names, other types under their MIME name. */
export function toE2bResult(result: RichResult): E2bExecuteLine {
  const line: Record<string, unknown> = {};
  for (const [mime, value] of Object.entries(result.data)) {
    const field = E2B_FIELDS[mime] ?? mime;
    if (field === 'type' || field === 'is_main_result') continue;
    Object.defineProperty(line, field, { value, enumerable: true, writable: true, configurable: true });
  }
  return { ...line, type: 'result', is_main_result: result.is_main_result };
}

export function toE2bError(error: ExecutionError): E2bExecuteLine {
  return { type: 'error', name: error.name, value: error.value, traceback: error.traceback ?? '' };
}

/** A live frame of our stream as an E2B line; results wait for the reply (they come in order there). */
export function liveLine(frame: StreamFrame, now = new Date()): E2bExecuteLine | null {
  if (frame.type === 'stdout' || frame.type === 'stderr') {
    return { type: frame.type, text: frame.text, timestamp: now.toISOString() };
  }
  return null;
}

/**
 * What follows the live output once the run's reply is in: its results, its error, and the
 * execution count. A run whose live output was lost (a frame the bus dropped) gets its stdout
 * and stderr here instead, so nothing is missing.
 */
export function closingLines(
  reply: SessionExecuteReply,
  streamedAny: boolean,
  now = new Date(),
): E2bExecuteLine[] {
  const lines: E2bExecuteLine[] = [];
  if (!streamedAny) {
    if (reply.stdout) lines.push({ type: 'stdout', text: reply.stdout, timestamp: now.toISOString() });
    if (reply.stderr) lines.push({ type: 'stderr', text: reply.stderr, timestamp: now.toISOString() });
  }
  lines.push(...reply.results.map(toE2bResult));
  if (reply.error) lines.push(toE2bError(reply.error));
  lines.push({ type: 'number_of_executions', execution_count: reply.execution_count });
  return lines;
}
