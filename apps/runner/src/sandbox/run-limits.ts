import type { NatsConnection } from 'nats';
import type { RunnerConfig } from '../runner.config';
import type { RunLimits } from './run-output';

export const RUN_LIMITS = Symbol('RUN_LIMITS');

/** Room kept free in every reply for the envelope the services wrap around a result. */
export const REPLY_MARGIN_BYTES = 64 * 1024;
const MAX_RICH_BYTES = 16 * 1024 * 1024;

/** What one run may take, in bytes: all of it derived from the largest message the bus carries. */
export interface SandboxLimits extends RunLimits {
  /** The encoded reply of a run stays under this (the bus's max payload less a margin). */
  replyBytes: number;
  /** The longest frame a kernel may send; longer ones are dropped unread. */
  frameBytes: number;
}

/**
 * One budget per run, sized so the reply fits the bus by construction: stdout and stderr at
 * most a quarter of it each, results, files and the error together at most half (results are
 * repeated as artifacts, and the final reply is fitted again after encoding).
 */
export function sandboxLimits(
  config: Pick<RunnerConfig, 'MAX_OUTPUT_BYTES'>,
  maxPayload: number,
): SandboxLimits {
  const replyBytes = Math.max(64 * 1024, maxPayload - REPLY_MARGIN_BYTES);
  const richBytes = Math.min(MAX_RICH_BYTES, Math.floor(replyBytes / 2));
  return {
    replyBytes,
    outputBytes: Math.min(config.MAX_OUTPUT_BYTES, Math.floor(replyBytes / 4)),
    richBytes,
    frameBytes: richBytes + 64 * 1024,
  };
}

/** The limits of this runner's connection: the server tells its max payload when it connects. */
export function sandboxLimitsOf(config: RunnerConfig, nc: NatsConnection): SandboxLimits {
  return sandboxLimits(config, nc.info?.max_payload ?? 1024 * 1024);
}
