import {
  workspacePathError,
  type ExecutionError,
  type FileOpReply,
  type RichResult,
} from '@executor/contracts';
import type { KernelFrame } from '../kernel/kernel-frames';
import { OutputCapture } from './output-capture';

/** The MIME keys a rich result may carry; anything else in a bundle is dropped. */
const BINARY_MIMES = new Set(['image/png', 'image/jpeg', 'image/gif', 'application/pdf']);
const TEXT_MIMES = new Set([
  'text/plain',
  'text/html',
  'text/markdown',
  'text/latex',
  'text/csv',
  'image/svg+xml',
  'application/javascript',
]);
const JSON_MIMES = new Set([
  'application/json',
  'application/geo+json',
  'application/vnd.plotly.v1+json',
  'application/vnd.vegalite.v4+json',
  'application/vnd.vegalite.v5+json',
  'application/vnd.vega.v5+json',
  'application/vnd.dataresource+json',
  /** A chart as data (E2B's `chart`: type, title, axes, elements), beside its image. */
  'application/vnd.executor.chart+json',
  /** A pandas DataFrame as data (E2B's `data`), beside its HTML and text. */
  'application/vnd.executor.dataframe+json',
]);
const MIME_PATTERN = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,127}$/;

export const MAX_ERROR_NAME_CHARS = 256;
export const MAX_ERROR_VALUE_CHARS = 64 * 1024;
export const MAX_TRACEBACK_CHARS = 256 * 1024;
/** Frames longer than this are not even parsed once the run's rich budget is spent (a flood). */
const SMALL_FRAME_CHARS = 512;

export interface OutputFile {
  name: string;
  mime: string;
  size: number;
  b64: string;
}

/** Why frames of a run were not used: all of it written by the sandbox, so only counted. */
export interface ProtocolDrops {
  /** Not JSON, or not a frame of any known type and shape. */
  invalid: number;
  /** A valid frame carrying another run's id (a late frame of an earlier run, or a forged one). */
  foreign: number;
  /** Results, files or an error past the run's byte budget, or refused by their rules. */
  refused: number;
}

/** Per-run limits, derived from what the bus can carry. */
export interface RunLimits {
  /** Cap of stdout and of stderr, in bytes. */
  outputBytes: number;
  /** Results, output files and the error together, in bytes as they arrive. */
  richBytes: number;
}

function clampText(text: string, max: number, keep: 'head' | 'tail'): { text: string; cut: boolean } {
  if (text.length <= max) return { text, cut: false };
  const marker = '\n… [truncated by executor]\n';
  return {
    text: keep === 'head' ? text.slice(0, max) + marker : marker + text.slice(text.length - max),
    cut: true,
  };
}

/** The bytes a JSON value takes once encoded, or null when it cannot be encoded (too deep, a cycle). */
function jsonBytes(value: unknown): number | null {
  try {
    const text = JSON.stringify(value);
    return text === undefined ? null : Buffer.byteLength(text);
  } catch {
    return null;
  }
}

/**
 * A rich result's MIME bundle with only allowed keys, each with a value of its kind (base64
 * strings for binary types, strings for text, encodable JSON for JSON types), and its size.
 * Null when nothing usable is left.
 */
export function sanitizeBundle(
  data: Record<string, unknown>,
): { data: Record<string, unknown>; bytes: number } | null {
  const out: Record<string, unknown> = {};
  let bytes = 0;
  for (const [mime, value] of Object.entries(data)) {
    let size: number | null = null;
    if (BINARY_MIMES.has(mime)) {
      if (typeof value === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(value)) size = value.length;
    } else if (TEXT_MIMES.has(mime)) {
      if (typeof value === 'string') size = Buffer.byteLength(value);
    } else if (JSON_MIMES.has(mime)) {
      size = jsonBytes(value);
    }
    if (size === null) continue;
    Object.defineProperty(out, mime, { value, enumerable: true, writable: true, configurable: true });
    bytes += size + mime.length + 8;
  }
  return Object.keys(out).length > 0 ? { data: out, bytes } : null;
}

/**
 * What one run produced, built from the frames of its kernel within one byte budget: stdout
 * and stderr capped, results, output files and the error counted together, each checked
 * before it is kept. Nothing here trusts a frame beyond its schema.
 */
export class RunOutput {
  readonly stdout: OutputCapture;
  readonly stderr: OutputCapture;
  readonly results: RichResult[] = [];
  readonly files: OutputFile[] = [];
  error?: ExecutionError;
  filesReply?: FileOpReply;
  exitCode = -1;
  /** Set when the run ended on a frame that broke the protocol. */
  protocolError?: string;
  /** Results, files or error text were dropped or cut. */
  richTruncated = false;
  readonly drops: ProtocolDrops = { invalid: 0, foreign: 0, refused: 0 };
  private richLeft: number;

  constructor(private readonly limits: RunLimits) {
    this.stdout = new OutputCapture(limits.outputBytes);
    this.stderr = new OutputCapture(limits.outputBytes);
    this.richLeft = limits.richBytes;
  }

  /** A large frame after the budget is spent cannot be used: skip even parsing it. */
  worthParsing(json: string): boolean {
    return json.length <= SMALL_FRAME_CHARS || this.richLeft > 0 || !this.stdout.full || !this.stderr.full;
  }

  /** Takes `bytes` from the rich budget; false (and truncated) when they do not fit. */
  private spend(bytes: number): boolean {
    if (bytes > this.richLeft) {
      this.richTruncated = true;
      this.drops.refused++;
      return false;
    }
    this.richLeft -= bytes;
    return true;
  }

  /** stdout or stderr bytes as they arrive; returns them when they were kept (for streaming). */
  output(name: 'stdout' | 'stderr', b64: string): Buffer | null {
    const capture = name === 'stderr' ? this.stderr : this.stdout;
    if (capture.full) {
      capture.count(Buffer.byteLength(b64, 'base64'));
      return null;
    }
    const bytes = Buffer.from(b64, 'base64');
    capture.push(bytes);
    return bytes;
  }

  /** A rich result, kept when it has usable MIME data and fits the budget. */
  result(frame: Extract<KernelFrame, { t: 'result' }>): RichResult | null {
    const bundle = sanitizeBundle(frame.data);
    if (!bundle) {
      this.drops.refused++;
      return null;
    }
    if (!this.spend(bundle.bytes)) return null;
    const result: RichResult = { data: bundle.data, is_main_result: frame.main === true };
    this.results.push(result);
    return result;
  }

  /** A file written under /workspace/outputs: its name must pass the workspace path rules. */
  file(frame: Extract<KernelFrame, { t: 'file' }>): void {
    const problem = frame.name.startsWith('outputs/') ? workspacePathError(frame.name) : 'not under outputs/';
    if (problem) {
      this.drops.refused++;
      this.stderr.push(Buffer.from(`executor: an output file was not returned: ${problem}\n`));
      return;
    }
    if (!this.spend(frame.b.length + frame.name.length)) return;
    const mime = MIME_PATTERN.test(frame.mime) ? frame.mime : 'application/octet-stream';
    this.files.push({ name: frame.name, mime, size: Buffer.byteLength(frame.b, 'base64'), b64: frame.b });
  }

  /** The run's exception, its text cut to bounds (and `truncated` said when it was cut). */
  setError(frame: Extract<KernelFrame, { t: 'error' }>): void {
    const name = clampText(frame.name, MAX_ERROR_NAME_CHARS, 'head');
    const value = clampText(frame.value, MAX_ERROR_VALUE_CHARS, 'head');
    const traceback = clampText(frame.traceback ?? '', MAX_TRACEBACK_CHARS, 'tail');
    if (name.cut || value.cut || traceback.cut) this.richTruncated = true;
    // A second error of the same run replaces the first: give its bytes back first.
    if (this.error) this.richLeft += errorBytes(this.error);
    const error: ExecutionError = { name: name.text, value: value.text, traceback: traceback.text };
    if (this.spend(errorBytes(error))) this.error = error;
  }
}

function errorBytes(e: ExecutionError): number {
  return Buffer.byteLength(e.name) + Buffer.byteLength(e.value) + Buffer.byteLength(e.traceback ?? '');
}
