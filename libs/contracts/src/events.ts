import type { ExecutionStatus } from './execution';

/** Aggregate (stream) types; the second segment of an event subject. */
export const StreamTypes = {
  Execution: 'execution',
  Session: 'session',
  Template: 'template',
  Sandbox: 'sandbox',
  Runner: 'runner',
  Process: 'process',
} as const;
export type StreamType = (typeof StreamTypes)[keyof typeof StreamTypes];

/** How a run ended, the same facts in a one-off's ExecutionFinished and a session's SessionExecuted. */
interface RunEnd {
  status: ExecutionStatus;
  exit_code: number;
  duration_ms: number;
  timed_out: boolean;
  oom_killed: boolean;
  truncated: boolean;
}

/**
 * Every event type and its data. Past tense; never carries secrets, code or outputs:
 * sizes, hashes and statuses are enough for audit and metrics.
 */
export interface EventDataMap {
  ExecutionStarted: {
    execution_id: string;
    tenant_id: string;
    scope: string;
    template: string;
    language: string;
    runner_id: string;
    code_bytes: number;
    code_sha256: string;
    files_count: number;
    files_bytes: number;
    timeout_s: number;
  };
  ExecutionFinished: RunEnd & {
    execution_id: string;
    stdout_bytes: number;
    stderr_bytes: number;
    artifacts_count: number;
    /** Set when the sandbox itself failed (not the user's code). */
    sandbox_error?: string;
  };
  /**
   * An execution that will never finish: its runner died or restarted during the run, or
   * its end could not be recorded. Ends the stream in place of ExecutionFinished.
   */
  ExecutionLost: {
    execution_id: string;
    runner_id: string;
    /** `runner_restarted`, `runner_silent` or `unfinished` (older than its timeout allows). */
    reason: 'runner_restarted' | 'runner_silent' | 'unfinished';
  };

  SessionCreated: {
    session_id: string;
    tenant_id: string;
    scope: string;
    template: string;
    ttl_s: number;
    metadata: Record<string, string>;
    runner_id: string;
    /** The absolute end of the session's life, if it has one (ISO); it ends then even if busy. */
    deadline_at?: string;
  };
  SessionReused: { session_id: string };
  /** The end of the session's life was moved (E2B's setTimeout); its idle ttl is at least as long. */
  SessionDeadlineMoved: { session_id: string; deadline_at: string; ttl_s: number };
  SessionExecuted: RunEnd & {
    session_id: string;
    execution_id: string;
    language: string;
    code_bytes: number;
    code_sha256: string;
    /** The sandbox was replaced during the run: variables and files are gone. */
    state_lost: boolean;
  };
  /** `reason` absent (older events) means idle. */
  SessionExpired: { session_id: string; idle_s: number; reason?: 'idle' | 'deadline' };
  SessionDestroyed: { session_id: string };
  SessionLost: { session_id: string; reason: string };
  TemplateRegistered: {
    name: string;
    description: string;
    base: string;
    packages: { apt: string[]; pip: string[]; npm: string[] };
    memory_limit: string;
    cpu_limit: number;
    timeout: number;
    /** Processes at once; absent in events recorded before it was a field (the base's then). */
    pids_limit?: number;
    network: boolean;
    /** Template definitions are configuration, kept whole so they survive restarts: no secrets in them. */
    env: Record<string, string>;
    setup_commands: string[];
    hash: string;
    image: string;
  };
  TemplateDeleted: { name: string };
  TemplateBuildStarted: { hash: string; image: string; template: string };
  TemplateBuilt: { hash: string; image: string; template: string; size_bytes: number; duration_ms: number };
  TemplateBuildFailed: { hash: string; image: string; template: string; error: string };
  /** A runner (re)started: sandboxes it held before are gone. */
  RunnerStarted: { runner_id: string };
  /**
   * A process started beside the kernel in a session's sandbox (E2B's commands and PTYs), in
   * the stream `process-<session_id>`. `command` is the program's name only (no path, never its
   * arguments, environment or output).
   */
  ProcessStarted: { session_id: string; pid: number; command: string; pty: boolean; runner_id: string };
  /**
   * It ended: `reason` `exited` (by itself or a signal), `sandbox_closed` (its session ended).
   * `exit_code` is 128 + the signal for a killed one; `output_bytes` counts what it sent,
   * `truncated` that some was dropped over its budget.
   */
  ProcessEnded: {
    session_id: string;
    pid: number;
    exit_code: number;
    reason: 'exited' | 'sandbox_closed';
    duration_ms: number;
    output_bytes: number;
    truncated: boolean;
  };
}

export type EventType = keyof EventDataMap;

export const EventTypes: { [K in EventType]: K } = {
  ExecutionStarted: 'ExecutionStarted',
  ExecutionFinished: 'ExecutionFinished',
  ExecutionLost: 'ExecutionLost',
  SessionCreated: 'SessionCreated',
  SessionReused: 'SessionReused',
  SessionDeadlineMoved: 'SessionDeadlineMoved',
  SessionExecuted: 'SessionExecuted',
  SessionExpired: 'SessionExpired',
  SessionDestroyed: 'SessionDestroyed',
  SessionLost: 'SessionLost',
  RunnerStarted: 'RunnerStarted',
  TemplateRegistered: 'TemplateRegistered',
  TemplateDeleted: 'TemplateDeleted',
  TemplateBuildStarted: 'TemplateBuildStarted',
  TemplateBuilt: 'TemplateBuilt',
  TemplateBuildFailed: 'TemplateBuildFailed',
  ProcessStarted: 'ProcessStarted',
  ProcessEnded: 'ProcessEnded',
};

/** An event of one type as the decider and projections see it. */
export type DomainEvent = { [K in EventType]: { type: K; data: EventDataMap[K] } }[EventType];

/** The envelope stored and published for every event (docs/events.md, Envelope). */
export interface EventEnvelope<T extends EventType = EventType> {
  id: string;
  stream_id: string;
  stream_type: StreamType;
  type: T;
  version: number;
  position: number;
  tenant_id: string | null;
  occurred_at: string;
  correlation_id: string | null;
  data: EventDataMap[T];
}

/** An event before it is stored: the store assigns id, version, position and time. */
export interface NewEvent<T extends EventType = EventType> {
  type: T;
  data: EventDataMap[T];
}
