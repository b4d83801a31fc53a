import type { EventEnvelope } from '@executor/contracts';

/** Which events a client asked for; the tenant is forced to a tenant key's own. */
export interface FeedFilter {
  types?: ReadonlySet<string>;
  tenant?: string;
  stream?: string;
}

/** One page of the store after a position, filtered as far as the store can (see AdminEvents). */
export type PageAfter = (afterPosition: number) => Promise<{ events: EventEnvelope[]; next: number | null }>;

export function matchesFilter(e: EventEnvelope, f: FeedFilter): boolean {
  return (
    (!f.types || f.types.has(e.type)) &&
    (f.tenant === undefined || e.tenant_id === f.tenant) &&
    (f.stream === undefined || e.stream_id === f.stream)
  );
}

/**
 * The events one client is sent, each once and in order of position, with none missed.
 *
 * `seen` is the position up to which every event has been sent or ruled out. A live event
 * (from NATS) right after it is sent at once; one further on means events went by unseen
 * (NATS core drops, or publishers raced), so the store, which holds every event before a
 * published one, fills the gap. A catch-up round covers at least every position announced
 * live before it began; announcements during a round start another, so nothing stays behind.
 */
export class EventFeed {
  private seen: number;
  private announced = 0;
  private running: Promise<void> | null = null;

  constructor(
    after: number,
    private readonly filter: FeedFilter,
    private readonly pageAfter: PageAfter,
    private readonly send: (e: EventEnvelope) => void,
  ) {
    this.seen = after;
  }

  /** The position of the last event sent or ruled out. */
  get position(): number {
    return this.seen;
  }

  /** A live event. Returns the catch-up it started, if any (its failure ends the feed). */
  offer(e: EventEnvelope): Promise<void> | null {
    if (e.position <= this.seen) return null;
    this.announced = Math.max(this.announced, e.position);
    if (this.running) return this.running;
    if (e.position === this.seen + 1) {
      this.seen = e.position;
      if (matchesFilter(e, this.filter)) this.send(e);
      return null;
    }
    return this.catchUp();
  }

  /** Reads the store from `seen` on: at start, on a gap, and now and then for events NATS lost. */
  catchUp(): Promise<void> {
    this.running ??= this.rounds().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async rounds(): Promise<void> {
    do {
      const covered = this.announced;
      let after = this.seen;
      for (;;) {
        const page = await this.pageAfter(after);
        for (const e of page.events) {
          if (e.position <= this.seen) continue;
          this.seen = e.position;
          if (matchesFilter(e, this.filter)) this.send(e);
        }
        if (page.next === null || page.events.length === 0) break;
        after = page.next;
      }
      this.seen = Math.max(this.seen, covered);
    } while (this.announced > this.seen);
  }
}
