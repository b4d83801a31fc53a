export type CheckStatus = 'healthy' | 'unhealthy';

export interface CheckResult {
  status: CheckStatus;
  latency_ms?: number;
  error?: string;
}

/** What each service answers on its health subject: its own checks, by name. */
export interface ServiceHealthReply {
  service: string;
  checks: Record<string, CheckResult>;
}

/** Published by every runner on `Subjects.RunnerHeartbeat` about once a second. */
export interface RunnerHeartbeat {
  runner_id: string;
  /** Changes when the runner process restarts (same runner_id, new process). */
  instance_id: string;
  /** Executions it runs at once; more wait in a queue of `queue_limit`. */
  capacity: number;
  queue_limit: number;
  running: number;
  queued: number;
  /** Live session sandboxes it holds. */
  sessions: number;
  /** True while it drains before stopping: it takes no new work. */
  draining: boolean;
  /** Milliseconds until the next heartbeat; silence for a few of these means it is gone. */
  interval_ms: number;
  sent_at: string;
  /** Errors that escaped every request path of this process (logged, counted, survived). */
  unexpected_errors?: number;
  /** Frames its sandboxes sent that were dropped (malformed, of another run, over budget). */
  frames_dropped?: number;
}
