/**
 * Sessions placed on runners that the runners' heartbeats may not count yet: an open still in
 * flight, or one answered after the runner's last heartbeat arrived. Counting them spreads a
 * burst of creates instead of sending all of it to the runner that looked idlest a second ago.
 * Pure: time is passed in.
 */
export class Placements {
  private readonly byRunner = new Map<string, Array<{ answeredMs?: number }>>();

  /** An open sent to this runner; the function returned is told whether it succeeded, and when. */
  start(runnerId: string): (opened: boolean, nowMs: number) => void {
    const entry: { answeredMs?: number } = {};
    const list = this.byRunner.get(runnerId) ?? [];
    list.push(entry);
    this.byRunner.set(runnerId, list);
    return (opened, nowMs) => {
      if (opened) entry.answeredMs = nowMs;
      else
        this.byRunner.set(
          runnerId,
          (this.byRunner.get(runnerId) ?? []).filter((e) => e !== entry),
        );
    };
  }

  /** A heartbeat of this runner arrived at `nowMs`: it counts the sessions opened before. */
  beat(runnerId: string, nowMs: number): void {
    const list = this.byRunner.get(runnerId);
    if (!list) return;
    const left = list.filter((e) => e.answeredMs === undefined || e.answeredMs >= nowMs);
    if (left.length > 0) this.byRunner.set(runnerId, left);
    else this.byRunner.delete(runnerId);
  }

  /** Placements on this runner its heartbeat does not count yet. */
  pending(runnerId: string): number {
    return this.byRunner.get(runnerId)?.length ?? 0;
  }
}
