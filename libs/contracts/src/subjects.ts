/**
 * NATS subjects: the one place a wire name is spelled.
 * Never rename a shipped value: other processes and external subscribers depend on it.
 */
export const Subjects = {
  /** api -> session-service: run one-off code in a fresh sandbox. */
  ExecutionRun: 'executor.execution.run',
  /** session-service -> runner: run code in a sandbox of the given template. */
  RunnerExecute: 'executor.runner.execute',
  /** template-service -> runner: image status of template images. */
  RunnerImageStatus: 'executor.runner.image-status',
  SessionCreate: 'executor.session.create',
  SessionExecute: 'executor.session.execute',
  SessionDestroy: 'executor.session.destroy',
  SessionGet: 'executor.session.get',
  SessionList: 'executor.session.list',
  SessionFiles: 'executor.session.files',
  SessionContexts: 'executor.session.contexts',
  /** Moves the end of a session's life (E2B's setTimeout). */
  SessionSetLifetime: 'executor.session.set-lifetime',
  /**
   * session-service -> runner: a sandbox held for a session, its runs, files and end. Open
   * reaches any runner (queue group); every call is also served on the runner's own subject
   * (`runnerOwnSubject`), where the calls about a session go to the runner holding its sandbox.
   */
  RunnerSessionOpen: 'executor.runner.session.open',
  RunnerSessionExecute: 'executor.runner.session.execute',
  RunnerSessionClose: 'executor.runner.session.close',
  RunnerSessionList: 'executor.runner.session.list',
  RunnerSessionFiles: 'executor.runner.session.files',
  RunnerSessionContexts: 'executor.runner.session.contexts',
  TemplatesList: 'executor.templates.list',
  TemplatesDescribe: 'executor.templates.describe',
  TemplatesRegister: 'executor.templates.register',
  TemplatesDelete: 'executor.templates.delete',
  /** template-service / runner itself -> runner: build a template's image in the background. */
  RunnerImageBuild: 'executor.runner.image-build',
  TemplatesGet: 'executor.templates.get',
  /** The read side: metrics, the Prometheus text, a rebuild, and admin queries of the store. */
  MetricsGet: 'executor.metrics.get',
  MetricsPrometheus: 'executor.metrics.prometheus',
  MetricsRebuild: 'executor.metrics.rebuild',
  AdminEvents: 'executor.admin.events',
  AdminStream: 'executor.admin.stream',
  RunnerHealth: 'executor.runner.health',
  SessionHealth: 'executor.session.health',
  TemplateHealth: 'executor.templates.health',
  MetricsHealth: 'executor.metrics.health',
  /**
   * runner -> everyone, about once a second: a runner is alive, with its capacity and load
   * (a plain message, not an event: it is not stored). See RunnerHeartbeat.
   */
  RunnerHeartbeat: 'executor.runner.heartbeat',
  /**
   * anyone -> every process (no queue group: all answer): its prom-client registry as JSON
   * (`getMetricsAsJSON()`), which the api merges into `GET /metrics/prometheus`.
   */
  TelemetryScrape: 'executor.telemetry.scrape',
  /** api -> session-service: a process beside the kernel in a session's sandbox (E2B's commands, PTYs). */
  SessionProcess: 'executor.session.process',
  /** session-service -> the runner holding the sandbox (its own subject only). */
  RunnerSessionProcess: 'executor.runner.session.process',
} as const;

export type Subject = (typeof Subjects)[keyof typeof Subjects];

/** The calls a runner serves about the sandboxes it holds for sessions. */
export type RunnerSessionSubject =
  | typeof Subjects.RunnerSessionOpen
  | typeof Subjects.RunnerSessionExecute
  | typeof Subjects.RunnerSessionClose
  | typeof Subjects.RunnerSessionList
  | typeof Subjects.RunnerSessionFiles
  | typeof Subjects.RunnerSessionContexts
  | typeof Subjects.RunnerSessionProcess;

/** A runner id is one subject token: letters, digits, `_` and `-`. */
export const RUNNER_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * One runner's own subject for a session call: `executor.runner.<runner_id>.session.<op>`.
 * A session is pinned to the runner holding its sandbox; its calls go here, never to the
 * queue group, so with several runners they cannot reach one that does not hold it.
 */
export function runnerOwnSubject(runnerId: string, subject: RunnerSessionSubject): string {
  if (!RUNNER_ID_PATTERN.test(runnerId)) throw new Error(`not a runner id: ${JSON.stringify(runnerId)}`);
  return subject.replace(/^executor\.runner\./, `executor.runner.${runnerId}.`);
}

/** Prefix of every published domain event: `executor.events.<aggregate>.<EventType>`. */
export const EVENTS_PREFIX = 'executor.events';

export function eventSubject(streamType: string, type: string): string {
  return `${EVENTS_PREFIX}.${streamType}.${type}`;
}

/** Queue groups: one member of each group answers a request. */
export const QueueGroups = {
  Runner: 'executor-runner',
  SessionService: 'executor-session-service',
  TemplateService: 'executor-template-service',
  Metrics: 'executor-metrics',
} as const;

/** Where a streaming run's output is published as it happens, and where a cancel is sent. */
export const STREAM_PREFIX = 'executor.stream';
export const streamSubject = (streamId: string) => `${STREAM_PREFIX}.${streamId}.out`;
export const streamCancelSubject = (streamId: string) => `${STREAM_PREFIX}.${streamId}.cancel`;

/** A line of a streamed run (NDJSON, or the data of a server-sent event). */
export type StreamFrame =
  | { type: 'stdout' | 'stderr'; text: string }
  | { type: 'result'; data: Record<string, unknown>; is_main_result: boolean }
  | { type: 'keepalive' };
