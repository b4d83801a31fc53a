export type ImageStatus = 'missing' | 'building' | 'ready' | 'failed' | 'unknown';

/** A template as the runner needs it to start a sandbox. */
export interface TemplateSpec {
  name: string;
  description: string;
  image: string;
  languages: string[];
  /** Docker memory string, e.g. `512m`. */
  memory_limit: string;
  /** CPUs, e.g. 1 or 0.5. */
  cpu_limit: number;
  /** Default timeout in seconds. */
  timeout: number;
  network: boolean;
  pids_limit: number;
  env: Record<string, string>;
  packages: Record<string, string[]>;
  /** Optional OCI runtime, e.g. `runsc` for gVisor. */
  runtime?: string;
  /** The in-sandbox kernel: `python` (light, fast to start), `ipython` (Jupyter semantics) or `node`. */
  kernel: KernelKind;
  /** Modules the kernel imports before a sandbox joins the pool. */
  preload: string[];
}

export const KERNEL_KINDS = ['python', 'ipython', 'node'] as const;
export type KernelKind = (typeof KERNEL_KINDS)[number];

/** Languages each kernel runs. */
export const KERNEL_LANGUAGES: Record<KernelKind, string[]> = {
  python: ['python', 'bash'],
  ipython: ['python', 'bash'],
  node: ['javascript', 'bash'],
};

export interface TemplateSummary {
  name: string;
  description: string;
  memory_limit: string;
  cpu_limit: number;
  timeout: number;
  network: boolean;
  languages: string[];
  package_count: number;
  image_status: ImageStatus;
}

export interface TemplateGetRequest {
  name: string;
}

export interface ImageStatusRequest {
  images: string[];
}

export type ImageStatusReply = Record<string, ImageStatus>;

/** Parses a Docker memory string (`512m`, `2g`, `65536k`, `1048576`) into bytes; null when malformed. */
export function parseMemory(value: string): number | null {
  const m = /^(\d+)([bkmg]?)$/i.exec(value.trim());
  if (!m) return null;
  const n = Number(m[1]);
  const unit = m[2].toLowerCase();
  const factor = unit === 'g' ? 1024 ** 3 : unit === 'm' ? 1024 ** 2 : unit === 'k' ? 1024 : 1;
  const bytes = n * factor;
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : null;
}
