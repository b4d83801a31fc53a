import type { Request, Response } from 'express';
import type { NatsConnection, Subscription } from 'nats';
import { randomUUID } from 'node:crypto';
import { ErrorCodes, streamCancelSubject, streamSubject, type ErrorPayload } from '@executor/contracts';
import { RemoteError, withinMs } from '@executor/common';
import { apiErrorPayload } from './api-error';

const KEEPALIVE_MS = 10000;
/** How long the end of a run waits for the frames the server still holds for it. */
const DRAIN_WAIT_MS = 1000;

/**
 * Takes in the frames of a run that ended, before its end is written: the runner had the server
 * take every frame before it replied, so draining the subscription (the server sends what it
 * holds for it, then closes it) and the pump that writes them leaves none behind.
 */
export async function drainFrames(sub: Subscription, pump: Promise<void>): Promise<void> {
  if (!sub.isClosed()) await withinMs(Promise.all([sub.drain(), pump]), DRAIN_WAIT_MS);
}

/** A client asks for streaming with `stream: true` or by accepting NDJSON or server-sent events. */
export function wantsStream(req: Request, body: { stream?: boolean }): 'ndjson' | 'sse' | null {
  const accept = req.header('accept') ?? '';
  if (accept.includes('text/event-stream')) return 'sse';
  if (body.stream === true || accept.includes('application/x-ndjson')) return 'ndjson';
  return null;
}

/** Answers a run: its frames as they happen when the caller asked for a stream, else the result as JSON. */
export async function answerRun(
  req: Request,
  res: Response,
  nc: NatsConnection,
  body: { stream?: boolean },
  run: (streamId?: string) => Promise<unknown>,
): Promise<void> {
  const format = wantsStream(req, body);
  if (format) return streamRun(req, res, nc, format, run);
  res.status(200).json(await run());
}

/**
 * Runs a request whose output is streamed: stdout, stderr and results go to the client as
 * they happen, with keep-alives, then the final result (`{"type":"done","result":…}`). A
 * client that disconnects cancels the run. Errors found before the first byte keep their
 * HTTP status; later ones arrive as an `{"type":"error"}` line.
 */
export async function streamRun(
  req: Request,
  res: Response,
  nc: NatsConnection,
  format: 'ndjson' | 'sse',
  run: (streamId: string) => Promise<unknown>,
): Promise<void> {
  const streamId = randomUUID();
  const sub = nc.subscribe(streamSubject(streamId));
  await nc.flush();
  let finished = false;
  const write = (obj: object) => {
    if (res.writableEnded) return;
    res.write(format === 'sse' ? `data: ${JSON.stringify(obj)}\n\n` : `${JSON.stringify(obj)}\n`);
  };
  const start = () => {
    if (res.headersSent) return;
    res.status(200);
    res.setHeader(
      'Content-Type',
      format === 'sse' ? 'text/event-stream; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
    );
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
  };
  res.on('close', () => {
    if (!finished) nc.publish(streamCancelSubject(streamId), '');
  });
  const keepalive = setInterval(() => {
    start();
    write({ type: 'keepalive' });
  }, KEEPALIVE_MS);
  const pump = (async () => {
    for await (const m of sub) {
      start();
      if (format === 'sse') res.write(`data: ${new TextDecoder().decode(m.data)}\n\n`);
      else res.write(`${new TextDecoder().decode(m.data)}\n`);
    }
  })();
  try {
    const result = await run(streamId);
    await drainFrames(sub, pump);
    start();
    write({ type: 'done', result });
  } catch (err) {
    await drainFrames(sub, pump);
    if (!res.headersSent) throw err; // the error filter answers with the proper status
    const payload: ErrorPayload = (err instanceof RemoteError ? err.toPayload() : apiErrorPayload(err)) ?? {
      code: ErrorCodes.InternalError,
      message: 'the run failed',
    };
    write({ type: 'error', error: payload });
  } finally {
    finished = true;
    clearInterval(keepalive);
    if (!sub.isClosed()) sub.unsubscribe();
    if (res.headersSent) res.end();
  }
}
