import type { RunnerHeartbeat } from '@executor/contracts';

export interface RunnerView extends RunnerHeartbeat {
  /** When this process last heard from it (ms since epoch). */
  last_seen_ms: number;
}

/**
 * Which runners are alive, from their heartbeats. A runner is taken for gone after
 * `missedBeats` intervals of silence, counted from when this process could last hear it:
 * while our own NATS connection is down, silence proves nothing. Pure: time is passed in.
 */
export class RunnerLiveness {
  private readonly runners = new Map<string, RunnerView>();
  private listeningSince = 0;

  constructor(private readonly missedBeats = 5) {}

  /** Our connection (re)opened at `now`: heartbeats missed before it do not count. */
  connected(now: number): void {
    this.listeningSince = now;
  }

  /** Records a heartbeat; returns true when it comes from a new process of a known runner. */
  beat(hb: RunnerHeartbeat, now: number): boolean {
    const before = this.runners.get(hb.runner_id);
    this.runners.set(hb.runner_id, { ...hb, last_seen_ms: now });
    return before !== undefined && before.instance_id !== '' && before.instance_id !== hb.instance_id;
  }

  /**
   * A runner known from the log (it started an execution, it holds a session) whose heartbeat
   * this process may never have heard: it is watched from now on, and taken for gone if no
   * heartbeat follows.
   */
  expect(runnerId: string, now: number, intervalMs = 1000): void {
    if (this.runners.has(runnerId)) return;
    this.runners.set(runnerId, {
      runner_id: runnerId,
      instance_id: '',
      capacity: 0,
      queue_limit: 0,
      running: 0,
      queued: 0,
      sessions: 0,
      draining: false,
      interval_ms: intervalMs,
      sent_at: new Date(now).toISOString(),
      last_seen_ms: now,
    });
  }

  /** Runners silent for too long; each is reported once and forgotten until it beats again. */
  takeGone(now: number): RunnerView[] {
    const gone: RunnerView[] = [];
    for (const [id, r] of this.runners) {
      const heardFrom = Math.max(r.last_seen_ms, this.listeningSince);
      if (now - heardFrom > r.interval_ms * this.missedBeats) {
        gone.push(r);
        this.runners.delete(id);
      }
    }
    return gone;
  }

  /** Runners heard from (not only expected). */
  alive(): RunnerView[] {
    return [...this.runners.values()].filter((r) => r.instance_id !== '');
  }
}
