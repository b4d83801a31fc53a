import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { createInbox, Empty, type NatsConnection, type Subscription } from 'nats';
import { AggregatorRegistry, Registry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import { Subjects } from '@executor/contracts';
import { NATS_CONNECTION } from '../nats.constants';

export type RegistryJson = MetricObjectWithValues<MetricValue<string>>[];

/** Answers every scrape on the bus with this process's registries (all processes answer). */
@Injectable()
export class ScrapeResponder implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ScrapeResponder.name);
  private subscription?: Subscription;
  private readonly others: Registry[] = [];

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    private readonly registry: Registry,
  ) {}

  /** Answers with `registry` too: series that are not this process's own (no service/instance labels). */
  include(registry: Registry): void {
    this.others.push(registry);
  }

  /** This process's registry and the ones it includes, as one list of metrics. */
  async metrics(): Promise<RegistryJson> {
    const all = await Promise.all([this.registry, ...this.others].map((r) => r.getMetricsAsJSON()));
    return all.flat();
  }

  onApplicationBootstrap(): void {
    this.subscription = this.nc.subscribe(Subjects.TelemetryScrape, {
      callback: (err, msg) => {
        if (err) return;
        this.metrics()
          .then((metrics) => msg.respond(JSON.stringify(metrics)))
          .catch((e: unknown) =>
            this.logger.warn(`could not answer a scrape: ${e instanceof Error ? e.message : String(e)}`),
          );
      },
    });
  }

  onApplicationShutdown(): void {
    this.subscription?.unsubscribe();
  }
}

/** Largest registry a process may answer with; more is dropped (a process of ours sends ~50 kB). */
const MAX_REPLY_BYTES = 4 * 1024 * 1024;

function isRegistryJson(value: unknown): value is RegistryJson {
  return (
    Array.isArray(value) &&
    value.every(
      (m) =>
        typeof m === 'object' &&
        m !== null &&
        typeof (m as { name?: unknown }).name === 'string' &&
        Array.isArray((m as { values?: unknown }).values),
    )
  );
}

/** A process that answered a scrape is waited for by the scrapes of this long after it. */
const REMEMBERED_MS = 60_000;

/** The process a registry is of: the `instance` label of its own series ('' if it has none). */
function instanceOf(metrics: RegistryJson): string {
  for (const m of metrics) {
    const instance = m.values[0]?.labels?.instance;
    if (typeof instance === 'string') return instance;
  }
  return '';
}

function parseReply(data: Uint8Array): RegistryJson | undefined {
  if (data.length === 0 || data.length > MAX_REPLY_BYTES) return undefined;
  try {
    const parsed: unknown = JSON.parse(new TextDecoder().decode(data));
    return isRegistryJson(parsed) ? parsed : undefined;
  } catch {
    return undefined; // not a registry: skipped
  }
}

/**
 * Asks every process on the bus for its registry. It waits for every process that answered a
 * scrape in the last minute (even too late to be in it), and `quietMs` past the last answer for
 * any new one, but never past `maxWaitMs`: a process slow to answer on a loaded host stays in
 * the exposition, and one that went away costs the scrapes of the next minute their full wait.
 * Malformed or oversized answers are skipped.
 */
export class Scraper {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly opts: { maxWaitMs: number; quietMs: number },
  ) {}

  scrape(): Promise<RegistryJson[]> {
    const now = Date.now();
    for (const [instance, at] of this.seen) if (now - at > REMEMBERED_MS) this.seen.delete(instance);
    const awaited = new Set(this.seen.keys());
    const out: RegistryJson[] = [];
    return new Promise<RegistryJson[]>((resolve) => {
      let quiet: NodeJS.Timeout | undefined;
      let answered = false;
      const answer = () => {
        clearTimeout(quiet);
        answered = true;
        resolve(out);
      };
      // Answers that come after the scrape answered, until `maxWaitMs`, are not in it, but their
      // processes are waited for by the scrapes after it.
      const sub = this.nc.subscribe(createInbox(), {
        callback: (err, msg) => {
          if (err) return close();
          const metrics = parseReply(msg.data);
          if (!metrics) return;
          const instance = instanceOf(metrics);
          if (instance) {
            awaited.delete(instance);
            this.seen.set(instance, Date.now());
          }
          if (answered) return;
          out.push(metrics);
          clearTimeout(quiet);
          if (awaited.size === 0) quiet = setTimeout(answer, this.opts.quietMs);
        },
      });
      const deadline = setTimeout(close, this.opts.maxWaitMs);
      function close() {
        clearTimeout(deadline);
        sub.unsubscribe();
        answer();
      }
      try {
        this.nc.publish(Subjects.TelemetryScrape, Empty, { reply: sub.getSubject() });
      } catch {
        close();
      }
    });
  }
}

/**
 * One exposition of several processes' registries. Each process's series carry its own
 * `service` and `instance` labels, so keeping the first value of each label set keeps every
 * series as it was (prom-client's own aggregators would average, sum or drop some).
 */
export function mergeRegistries(registries: RegistryJson[]): Registry {
  return AggregatorRegistry.aggregate(
    registries.map((metrics) => metrics.map((m) => ({ ...m, aggregator: 'first' as const }))),
  );
}
