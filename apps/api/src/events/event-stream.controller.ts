import { Controller, Get, Inject, Query, Req, Res } from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ErrorCodes, EventStreamQueryDto, Subjects, type EventEnvelope } from '@executor/contracts';
import { NatsRpc, RemoteError } from '@executor/common';
import { ApiConfig } from '../api.config';
import { tenantOf, type AuthedRequest } from '../auth/auth.guard';
import { apiError } from '../http/api-error';
import { ApiErrors } from '../openapi/api-responses';
import { EventFeed, type FeedFilter } from './event-feed';
import { EventHub, MAX_EVENT_STREAMS } from './event-hub';
import { SseWriter } from './sse-writer';

/** Events read from the store in one request while catching up. */
const PAGE = 500;
const LAST_EVENT_ID = /^\d{1,15}$/;

/**
 * `GET /events/stream`: the event log as server-sent events, live from NATS and caught up
 * from the store by global position. Each event's `id` is its position, so a client that
 * reconnects with `Last-Event-ID` gets every later event once. A tenant key sees its own
 * tenant's events only; an admin key (or a stack without keys) any, filtered as asked.
 */
@ApiTags('events')
@Controller('events')
export class EventStreamController {
  constructor(
    private readonly rpc: NatsRpc,
    private readonly hub: EventHub,
    @Inject(ApiConfig) private readonly config: ApiConfig,
  ) {}

  @Get('stream')
  @ApiOperation({
    summary: 'Live events (Server-Sent Events), from a position and filtered',
    description:
      'Each message is `id: <position>` and `data: <event envelope JSON>`; comments (`: heartbeat`) ' +
      'keep the connection alive. Reconnect with `Last-Event-ID` to resume after the last event ' +
      'received, with nothing missed or repeated. A client that reads too slowly is disconnected.',
  })
  @ApiHeader({
    name: 'Last-Event-ID',
    required: false,
    description: 'Resume after this global position (wins over `after`)',
  })
  @ApiOkResponse({
    description: 'An endless text/event-stream of event envelopes',
    content: { 'text/event-stream': { schema: { type: 'string' } } },
  })
  @ApiErrors(ErrorCodes.Forbidden, ErrorCodes.ConcurrencyLimit)
  async stream(
    @Query() q: EventStreamQueryDto,
    @Req() req: AuthedRequest,
    @Res() res: Response,
  ): Promise<void> {
    const tenant = tenantOf(req, q.tenant);
    const header = req.header('last-event-id')?.trim();
    if (header !== undefined && header !== '' && !LAST_EVENT_ID.test(header)) {
      throw apiError(ErrorCodes.ValidationError, 'Last-Event-ID must be an event position (an integer)');
    }
    if (this.hub.size >= MAX_EVENT_STREAMS) {
      throw apiError(ErrorCodes.ConcurrencyLimit, `at most ${MAX_EVENT_STREAMS} event streams at once`, 5);
    }
    const types = q.type ? q.type.split(',') : undefined;
    const filter: FeedFilter = { types: types && new Set(types), tenant, stream: q.stream };

    // Listen before the starting point is known, so nothing published meanwhile is lost.
    let feed: EventFeed | null = null;
    const early: EventEnvelope[] = [];
    let fail: (err: unknown) => void = () => undefined;
    const unlisten = this.hub.listen((e) => {
      if (!feed) early.push(e);
      else feed.offer(e)?.catch(fail);
    });
    const timers: { heartbeat?: NodeJS.Timeout; closed?: boolean } = {};
    const close = () => {
      timers.closed = true;
      unlisten();
      clearInterval(timers.heartbeat);
    };
    res.on('close', close);
    let start: number;
    try {
      await this.hub.ready();
      start = header ? Number(header) : (q.after ?? (await this.head()));
    } catch (err) {
      close();
      throw err;
    }
    if (timers.closed) return; // the client left while the starting point was looked up

    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    const sse = new SseWriter(res, undefined, close);
    sse.raw('retry: 2000\n\n');
    fail = (err: unknown) => {
      if (!sse.open) return;
      const payload =
        err instanceof RemoteError
          ? err.toPayload()
          : { code: ErrorCodes.DependencyUnavailable, message: 'the event store could not be read' };
      sse.event(feed?.position ?? start, payload, 'error');
      res.end();
    };
    feed = new EventFeed(
      start,
      filter,
      (after) => this.page(filter, after),
      (e) => sse.event(e.position, e),
    );
    timers.heartbeat = setInterval(() => {
      sse.comment('heartbeat');
      feed?.catchUp().catch(fail); // events NATS dropped on the way, not followed by another
    }, this.config.EVENT_STREAM_HEARTBEAT_MS);
    feed.catchUp().catch(fail);
    for (const e of early) feed.offer(e)?.catch(fail);
  }

  /** The newest position in the store: where a stream without a starting point begins. */
  private async head(): Promise<number> {
    const page = await this.rpc.send(
      Subjects.AdminEvents,
      { order: 'desc', limit: 1 },
      this.config.rpcTimeouts.storeQuery,
    );
    return page.events[0]?.position ?? 0;
  }

  private page(filter: FeedFilter, after: number) {
    const types = filter.types ? [...filter.types] : [];
    return this.rpc.send(
      Subjects.AdminEvents,
      {
        after_position: after,
        limit: PAGE,
        order: 'asc',
        ...(filter.tenant !== undefined ? { tenant: filter.tenant } : {}),
        ...(filter.stream !== undefined ? { stream: filter.stream } : {}),
        ...(types.length === 1 ? { type: types[0] } : {}),
      },
      this.config.rpcTimeouts.storeQuery,
    );
  }
}
