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
    return before !== undefined && before.instance_id !== hb.instance_id;
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

  alive(): RunnerView[] {
    return [...this.runners.values()];
  }
}
