import type { EventEnvelope, EventType } from '@executor/contracts';
import { storedEvent } from '@executor/contracts/testing/envelopes';
import { EventFeed, type FeedFilter } from './event-feed';

const event = (position: number, tenant = 't1', type: EventType = 'SessionCreated') =>
  storedEvent({ position, tenant_id: tenant, type });

/** A store of events and its paged query (pages of 2, filtered by tenant as AdminEvents does). */
function storeOf(events: EventEnvelope[], filter: FeedFilter = {}) {
  const calls: number[] = [];
  const page = (after: number) => {
    calls.push(after);
    const rest = events.filter(
      (e) => e.position > after && (!filter.tenant || e.tenant_id === filter.tenant),
    );
    const events2 = rest.slice(0, 2);
    return Promise.resolve({
      events: events2,
      next: rest.length > 2 ? events2[events2.length - 1].position : null,
    });
  };
  return { page, calls };
}

describe('EventFeed', () => {
  it('sends live events in order and ignores ones already sent', async () => {
    const sent: number[] = [];
    const { page, calls } = storeOf([]);
    const feed = new EventFeed(3, {}, page, (e) => sent.push(e.position));
    await feed.offer(event(4));
    await feed.offer(event(5));
    await feed.offer(event(4));
    expect(sent).toEqual([4, 5]);
    expect(calls).toEqual([]);
  });

  it('fills a gap from the store, then drops the late live copy', async () => {
    const all = [1, 2, 3, 4, 5, 6].map((p) => event(p));
    const sent: number[] = [];
    const { page } = storeOf(all);
    const feed = new EventFeed(1, {}, page, (e) => sent.push(e.position));
    await feed.offer(event(5)); // 2, 3 and 4 went by unseen
    await feed.offer(event(3));
    await feed.offer(event(6));
    expect(sent).toEqual([2, 3, 4, 5, 6]);
    expect(feed.position).toBe(6);
  });

  it('resumes after a position with no gap and no repeat, through several pages', async () => {
    const all = [1, 2, 3, 4, 5, 6, 7].map((p) => event(p));
    const sent: number[] = [];
    const feed = new EventFeed(2, {}, storeOf(all).page, (e) => sent.push(e.position));
    await feed.catchUp();
    expect(sent).toEqual([3, 4, 5, 6, 7]);
  });

  it('sends only what the filter lets through, and rules the rest out', async () => {
    const all = [event(1, 't1'), event(2, 't2'), event(3, 't1', 'SessionDestroyed'), event(4, 't2')];
    const filter: FeedFilter = { tenant: 't1', types: new Set(['SessionDestroyed']) };
    const sent: number[] = [];
    const feed = new EventFeed(0, filter, storeOf(all, filter).page, (e) => sent.push(e.position));
    await feed.catchUp();
    await feed.offer(event(5, 't2', 'SessionDestroyed'));
    await feed.offer(event(6, 't1', 'SessionDestroyed'));
    expect(sent).toEqual([3, 6]);
  });

  it('runs one more round for an event announced during a catch-up', async () => {
    const all = [1, 2, 3].map((p) => event(p));
    const sent: number[] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const base = storeOf(all).page;
    let first = true;
    const page = async (after: number) => {
      const reply = await base(after);
      if (first) {
        first = false;
        await gate; // event 4 is stored and announced while this page is on its way
      }
      return reply;
    };
    const feed = new EventFeed(0, {}, page, (e) => sent.push(e.position));
    const running = feed.catchUp();
    all.push(event(4));
    void feed.offer(event(4));
    release();
    await running;
    expect(sent).toEqual([1, 2, 3, 4]);
  });

  it('ends with the error of a store that cannot be read', async () => {
    const feed = new EventFeed(
      0,
      {},
      () => Promise.reject(new Error('store down')),
      () => undefined,
    );
    await expect(feed.offer(event(3))).rejects.toThrow('store down');
  });
});
