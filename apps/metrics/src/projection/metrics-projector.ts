import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { NatsConnection, Subscription } from 'nats';
import { EVENTS_PREFIX, type EventEnvelope } from '@executor/contracts';
import { NATS_CONNECTION } from '@executor/common';
import { EventStore } from '@executor/event-store';
import { MetricsConfig } from '../metrics.config';
import { CheckpointStore } from './checkpoint-store';
import { applyEvent, emptyState, type MetricsState } from './metrics-projection';

const NAME = 'metrics';
const SAVE_EVERY_MS = 500;

/**
 * Keeps the metrics projection current. The store is the truth: at start and whenever a
 * published event shows a gap, the projector reads what it missed from the store; each event
 * is applied once (by position), and the state is saved with the position it reflects.
 */
@Injectable()
export class MetricsProjector implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(MetricsProjector.name);
  private readonly checkpoints: CheckpointStore;
  state: MetricsState;
  private subscription?: Subscription;
  private timer?: NodeJS.Timeout;
  private catchingUp?: Promise<void>;
  private lastSave = 0;
  private dirty = false;

  constructor(
    private readonly store: EventStore,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(MetricsConfig) private readonly config: MetricsConfig,
  ) {
    this.checkpoints = new CheckpointStore(config.METRICS_STORE_PATH);
    // A checkpoint written by an older version lacks newer fields: they start from zero.
    this.state = { ...emptyState(), ...(this.checkpoints.load<MetricsState>(NAME) ?? {}) };
  }

  async onApplicationBootstrap(): Promise<void> {
    // Subscribe first, so nothing published during the catch-up is missed.
    this.subscription = this.nc.subscribe(`${EVENTS_PREFIX}.>`);
    void this.listen(this.subscription);
    const head = await this.store.headPosition();
    if (this.state.position > head) {
      // A checkpoint ahead of the store belongs to another store (or a restored backup): start over.
      this.logger.warn(`checkpoint at ${this.state.position} is ahead of the store (${head}); rebuilding`);
      this.state = emptyState();
      this.dirty = true;
    }
    await this.catchUp();
    this.logger.log(`projection at position ${this.state.position}`);
    this.timer = setInterval(() => void this.catchUp(), this.config.CATCH_UP_INTERVAL_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
    this.subscription?.unsubscribe();
    this.save(true);
    this.checkpoints.close();
  }

  /** Reads everything after the projection's position from the store. One at a time. */
  catchUp(): Promise<void> {
    this.catchingUp ??= (async () => {
      try {
        for await (const e of this.store.scan({ after_position: this.state.position })) this.apply(e);
        this.save(true);
      } catch (err) {
        this.logger.warn(`catch-up failed: ${err instanceof Error ? err.message : String(err)}`);
      } finally {
        this.catchingUp = undefined;
      }
    })();
    return this.catchingUp;
  }

  /** Starts over from position 0 (`npm run metrics:rebuild`). */
  async rebuild(): Promise<number> {
    await this.catchingUp;
    this.state = emptyState();
    this.save(true);
    await this.catchUp();
    return this.state.position;
  }

  private async listen(sub: Subscription): Promise<void> {
    for await (const msg of sub) {
      let event: EventEnvelope;
      try {
        event = JSON.parse(new TextDecoder().decode(msg.data)) as EventEnvelope;
      } catch {
        continue;
      }
      if (this.catchingUp || event.position !== this.state.position + 1) {
        // A gap (or an old event): the store has the exact sequence.
        if (event.position > this.state.position) void this.catchUp();
        continue;
      }
      this.apply(event);
      this.save(false);
    }
  }

  private apply(e: EventEnvelope): void {
    if (applyEvent(this.state, e)) this.dirty = true;
  }

  private save(force: boolean): void {
    if (!this.dirty) return;
    if (!force && Date.now() - this.lastSave < SAVE_EVERY_MS) {
      // A later event or the next catch-up saves; a crash before that replays from the store.
      return;
    }
    this.checkpoints.save(NAME, this.state.position, this.state);
    this.lastSave = Date.now();
    this.dirty = false;
  }
}
