import type { NextFunction, Request, Response } from 'express';
import { json } from 'express';
import { randomUUID } from 'node:crypto';
import { ErrorCodes } from '@executor/contracts';
import { errorBody } from './http-error.filter';

const REQUEST_ID = /^[A-Za-z0-9_.:-]{1,100}$/;

/** Accepts a sane X-Request-ID or makes one; it is echoed and becomes the correlation id. */
export function requestId(req: Request, res: Response, next: NextFunction): void {
  const given = req.header('x-request-id');
  const id = given && REQUEST_ID.test(given) ? given : randomUUID();
  (req as Request & { requestId: string }).requestId = id;
  res.setHeader('X-Request-ID', id);
  next();
}

/** Bodies of POST requests must be JSON objects. */
export function jsonBody(limit: string) {
  const parse = json({ limit, strict: true });
  return (req: Request, res: Response, next: NextFunction): void => {
    if (req.method !== 'POST' && req.method !== 'PUT' && req.method !== 'PATCH') return next();
    // File uploads may also come as multipart; multer reads those on their route.
    if (req.path === '/session/files/upload' && req.is('multipart/form-data')) return next();
    if (!req.is('application/json')) {
      res
        .status(415)
        .json(
          errorBody(
            ErrorCodes.UnsupportedMediaType,
            'the body must be JSON (Content-Type: application/json)',
          ),
        );
      return;
    }
    parse(req, res, (err?: unknown) => {
      if (err) return bodyError(err, res, limit);
      if (typeof req.body !== 'object' || req.body === null || Array.isArray(req.body)) {
        res.status(400).json(errorBody(ErrorCodes.InvalidJson, 'the body must be a JSON object'));
        return;
      }
      next();
    });
  };
}

function bodyError(err: unknown, res: Response, limit: string): void {
  const type = (err as { type?: string }).type;
  if (type === 'entity.too.large') {
    res
      .status(413)
      .json(errorBody(ErrorCodes.PayloadTooLarge, `the body is larger than the limit of ${limit}`));
  } else if (type === 'entity.parse.failed') {
    res.status(400).json(errorBody(ErrorCodes.InvalidJson, 'the body is not valid JSON'));
  } else {
    res.status(400).json(errorBody(ErrorCodes.InvalidJson, 'the body could not be read'));
  }
}

export function correlationId(req: Request): string {
  return (req as Request & { requestId?: string }).requestId ?? randomUUID();
}
