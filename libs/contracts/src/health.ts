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
