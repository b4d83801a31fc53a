import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { ServerNats, type NatsOptions } from '@nestjs/microservices';
import type { Msg, NatsConnection, Subscription } from 'nats';
import { finalize, type Observable } from 'rxjs';
import { NatsLink } from './nats-link';
import { ErrorCodes, type ErrorPayload } from '@executor/contracts';

/**
 * Counts the requests a process is handling, so a SIGTERM can let them finish before it
 * stops. One per process: a process is one service.
 */
export class InFlight {
  private count = 0;
  private idle: Array<() => void> = [];
  private stopping = false;

  get size(): number {
    return this.count;
  }

  get draining(): boolean {
    return this.stopping;
  }

  enter(): void {
    this.count++;
  }

  leave(): void {
    this.count = Math.max(0, this.count - 1);
    if (this.count === 0) for (const wake of this.idle.splice(0)) wake();
  }

  /** Resolves when nothing is in flight or the bound has passed; true when everything finished. */
  async drain(timeoutMs: number): Promise<boolean> {
    this.stopping = true;
    if (this.count === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      new Promise<boolean>((resolve) => this.idle.push(() => resolve(true))),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    return finished;
  }
}

export const inFlight = new InFlight();

/** Counts every message handler from its start until its reply has been sent. */
@Injectable()
export class InFlightInterceptor implements NestInterceptor {
  constructor(private readonly tracker: InFlight = inFlight) {}

  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    this.tracker.enter();
    return next.handle().pipe(finalize(() => this.tracker.leave()));
  }
}

/**
 * Publishes a reply; one the bus refuses as larger than its max payload is answered with a coded
 * error instead, so the caller learns at once (and no exception escapes the request path).
 */
function publishOrRefuse(publish: (response: unknown) => unknown, response: unknown): unknown {
  try {
    return publish(response);
  } catch (err) {
    if ((err as { code?: string }).code !== 'MAX_PAYLOAD_EXCEEDED') throw err;
    const refusal: ErrorPayload = {
      code: ErrorCodes.ReplyTooLarge,
      message: 'the reply was larger than the message bus carries',
    };
    return publish({ err: refusal, isDisposed: true });
  }
}

/** Per handler pattern, the subjects (and queue group, if any) it is served on instead of the pattern. */
export type SubjectRoutes = Record<string, Array<{ subject: string; queue?: string }>>;

/**
 * The NATS transport with a graceful close: on shutdown it first unsubscribes (no new work
 * reaches this process; a queue group sends it to the others), then waits for the requests
 * in flight up to a bound, and only then closes the connection their replies travel on.
 *
 * Nest's ServerNats, through its public extension points only: the transport opens its own
 * connection (`createNatsClient`, as a NatsLink that knows from the client's status events
 * whether it can send), keeps the subscriptions it makes (`bindEvents`) and wraps the reply
 * publisher (`getPublisher`).
 */
export class DrainingNatsServer extends ServerNats {
  private link: NatsLink | null = null;
  /** What bindEvents subscribed: unsubscribed first on close. */
  private readonly served: Subscription[] = [];
  /** Replies on their way (each bounded by the drain timeout): close waits for them. */
  private readonly delivering = new Set<Promise<void>>();

  constructor(
    private readonly natsOptions: Required<NatsOptions>['options'],
    private readonly drainTimeoutMs: number,
    private readonly tracker: InFlight = inFlight,
    private readonly onDrain: (finished: boolean, left: number) => void = () => undefined,
    private readonly routes: SubjectRoutes = {},
  ) {
    super(natsOptions);
  }

  /** The connection the handlers are served on, once listening. */
  get connection(): NatsLink | null {
    return this.link;
  }

  /** The subjects this transport is subscribed to now. */
  get subjects(): string[] {
    return this.served.filter((sub) => !sub.isClosed()).map((sub) => sub.getSubject());
  }

  /** Opens the transport's own connection with the options it was given, less Nest's own. */
  override async createNatsClient(): Promise<NatsConnection> {
    const { queue: _queue, serializer: _s, deserializer: _d, ...connection } = this.natsOptions;
    this.link = await NatsLink.connect(connection);
    return this.link.connection;
  }

  /**
   * Subscribes every handler on its pattern in the service's queue group, or, for a pattern
   * listed in `routes`, on the subjects listed there instead (a runner's own subjects).
   */
  override bindEvents(client: NatsConnection): void {
    const queue = this.getOptionsProp(this.natsOptions, 'queue');
    for (const [pattern, handler] of this.messageHandlers) {
      const targets = this.routes[pattern] ?? [
        { subject: pattern, queue: (handler.extras?.queue as string | undefined) ?? queue },
      ];
      for (const target of targets) {
        const sub = client.subscribe(target.subject, {
          queue: target.queue,
          callback: this.getMessageHandler(pattern).bind(this) as (err: unknown, msg: Msg) => void,
        });
        this.served.push(sub);
      }
    }
  }

  /**
   * Replies are delivered, not only sent: nats.js drops what it is given while disconnected, and
   * what sits in a socket that dies. So a reply waits for a connection, is followed by a flush
   * (a PING the server answers after reading it), and when the flush fails because the
   * connection dropped, it is sent again after the reconnect (a caller takes the first reply of
   * a request and ignores any other). Bounded by the drain timeout.
   */
  override getPublisher(...args: Parameters<ServerNats['getPublisher']>): (response: unknown) => unknown {
    const publish = super.getPublisher(...args) as (response: unknown) => unknown;
    return (response: unknown) => {
      const delivery = this.deliver(() => publishOrRefuse(publish, response))
        .catch((err: unknown) => {
          this.logger.error(`a reply could not be sent: ${err instanceof Error ? err.message : String(err)}`);
        })
        .finally(() => this.delivering.delete(delivery));
      this.delivering.add(delivery);
      return delivery;
    };
  }

  private async deliver(send: () => unknown): Promise<void> {
    const deadline = Date.now() + this.drainTimeoutMs;
    for (;;) {
      const link = this.link;
      if (!link || !(await link.whenConnected(Math.max(0, deadline - Date.now())))) return;
      send();
      try {
        await link.connection.flush();
        return;
      } catch {
        if (Date.now() >= deadline || link.connection.isClosed()) return;
      }
    }
  }

  override async close(): Promise<void> {
    // Drain, not unsubscribe: a message the server routed to us before it read our UNSUB is
    // still handled (unsubscribe would drop it unanswered). Bounded: a connection that is down
    // cannot hold the shutdown past the drain timeout.
    const subs = this.served.splice(0);
    await withinMs(
      Promise.all(subs.map((sub) => sub.drain().catch(() => sub.unsubscribe()))),
      this.drainTimeoutMs,
    );
    const left = this.tracker.size;
    const finished = await this.tracker.drain(this.drainTimeoutMs);
    if (left > 0) this.onDrain(finished, this.tracker.size);
    await Promise.all(this.delivering);
    const link = this.link;
    if (link) {
      // The last replies may still sit in the client's buffer: send them before closing.
      await link.connection.flush().catch(() => undefined);
      await link.close();
    }
    this.link = null;
    await super.close();
  }
}

/** Waits for `work`, or for `ms` at the most; never rejects. */
export async function withinMs(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    work.catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
      timer.unref();
    }),
  ]);
  clearTimeout(timer);
}
