import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import type { NatsConnection, Subscription } from 'nats';
import { EVENTS_PREFIX, type EventEnvelope } from '@executor/contracts';
import { NATS_CONNECTION } from '@executor/common';

/** Streams held open at once by this process: each is a subscriber and a store reader. */
export const MAX_EVENT_STREAMS = 256;

/**
 * One subscription to `executor.events.>` for the whole process, shared by every open event
 * stream. What arrives is checked for the envelope's shape before a stream sees it (a
 * published event is only a hint: the feed trusts the store for anything it missed).
 */
@Injectable()
export class EventHub implements OnModuleDestroy {
  private readonly logger = new Logger(EventHub.name);
  private readonly listeners = new Set<(e: EventEnvelope) => void>();
  private sub: Subscription | null = null;

  constructor(@Inject(NATS_CONNECTION) private readonly nc: NatsConnection) {}

  get size(): number {
    return this.listeners.size;
  }

  /** Adds a listener; returns what removes it. */
  listen(listener: (e: EventEnvelope) => void): () => void {
    this.listeners.add(listener);
    if (!this.sub) this.subscribe();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) {
        this.sub?.unsubscribe();
        this.sub = null;
      }
    };
  }

  /** Resolves once the subscription is registered with the server, so no later event is missed. */
  async ready(): Promise<void> {
    await this.nc.flush();
  }

  onModuleDestroy(): void {
    this.sub?.unsubscribe();
    this.sub = null;
  }

  private subscribe(): void {
    const sub = this.nc.subscribe(`${EVENTS_PREFIX}.>`);
    this.sub = sub;
    void (async () => {
      for await (const m of sub) {
        const e = parseEnvelope(m.data);
        if (!e) continue;
        for (const listener of [...this.listeners]) listener(e);
      }
    })().catch((err: unknown) => this.logger.warn(`event subscription ended: ${String(err)}`));
  }
}

/** An envelope off the bus, or null when it is not one (the fields the feed relies on). */
export function parseEnvelope(data: Uint8Array): EventEnvelope | null {
  try {
    const e = JSON.parse(new TextDecoder().decode(data)) as Partial<EventEnvelope> | null;
    if (
      !e ||
      typeof e !== 'object' ||
      !Number.isSafeInteger(e.position) ||
      (e.position ?? 0) < 1 ||
      typeof e.type !== 'string' ||
      typeof e.stream_id !== 'string' ||
      (e.tenant_id !== null && typeof e.tenant_id !== 'string')
    )
      return null;
    return e as EventEnvelope;
  } catch {
    return null;
  }
}
