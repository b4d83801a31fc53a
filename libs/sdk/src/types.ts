/** A rich result: a Jupyter-style MIME bundle (binary values base64). */
export interface RichResult {
  data: Record<string, unknown>;
  is_main_result: boolean;
}

export interface Artifact {
  type: string;
  name: string;
  content: string;
  encoding: 'base64' | 'utf8';
  size: number;
}

export interface ExecutionResult {
  status: 'success' | 'error' | 'timeout' | 'oom' | 'sandbox_died';
  execution_id: string;
  template: string;
  language: string;
  exit_code: number;
  stdout: string;
  stderr: string;
  execution_time: number;
  results: RichResult[];
  artifacts: Artifact[];
  error?: { name: string; value: string; traceback?: string };
  timed_out: boolean;
  oom_killed: boolean;
  truncated: boolean;
  /** Sessions only: the sandbox was replaced (in this run or an earlier one) and the state from before is gone. */
  state_lost?: boolean;
  /** Sessions only: this run's number in the session, from 1. */
  execution_count?: number;
  session_id?: string;
}

export interface FileInput {
  path: string;
  content: string | Uint8Array;
}

export interface RunOptions {
  language?: string;
  /** Sandboxes only: the context to run in (default: the default context of the language). */
  contextId?: string;
  timeout?: number;
  files?: FileInput[];
  /** The program's standard input. */
  stdin?: string;
  /** Environment variables for this run only. */
  env?: Record<string, string>;
  /** Called with output as it happens (the run is streamed when any callback is given). */
  onStdout?: (text: string) => void;
  onStderr?: (text: string) => void;
  onResult?: (result: RichResult) => void;
  signal?: AbortSignal;
}

/** A kernel of a sandbox: its own variables, the sandbox's files. */
export interface Context {
  id: string;
  language: string;
  cwd: string;
  /** The context runs of its language go to when they name none. */
  default: boolean;
}

export interface FileEntry {
  name: string;
  path: string;
  type: 'file' | 'dir' | 'link' | 'other';
  size: number;
  modified: string;
}

export interface TemplateInfo {
  name: string;
  description: string;
  languages: string[];
  memory_limit: string;
  cpu_limit: number;
  timeout: number;
  network: boolean;
  builtin: boolean;
  image_status: 'missing' | 'building' | 'ready' | 'failed' | 'unknown';
  build_error?: string;
}

export interface TemplateDefinition {
  name: string;
  base: string;
  description?: string;
  packages?: { apt?: string[]; pip?: string[]; npm?: string[] };
  memory_limit?: string;
  cpu_limit?: number;
  timeout?: number;
  env?: Record<string, string>;
  setup_commands?: string[];
}
