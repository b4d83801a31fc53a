import { randomUUID } from 'node:crypto';
import type { EventEnvelope, EventType, NewEvent, StreamType } from '@executor/contracts';

/** `'any'` skips the check; a number is the version the stream must be at (0 = new stream). */
export type ExpectedVersion = number | 'any';

export interface AppendMeta {
  tenantId?: string | null;
  correlationId?: string | null;
}

export interface EventQuery {
  stream_id?: string;
  stream_type?: string;
  type?: string;
  /** Any of these types. */
  types?: string[];
  tenant_id?: string;
  /** ISO time, inclusive. */
  from?: string;
  /** ISO time, exclusive. */
  to?: string;
  after_position?: number;
  before_position?: number;
  limit?: number;
  order?: 'asc' | 'desc';
}

/** One append: the events of one stream, stored atomically at the expected version. */
export interface AppendRequest {
  streamId: string;
  streamType: StreamType;
  expected: ExpectedVersion;
  events: NewEvent[];
  meta: AppendMeta;
}

/**
 * What a database does for the store. Each dialect owns its driver and speaks plain SQL to it,
 * for appends and reads alike; every error it lets out has been through `storeError`.
 */
export interface Dialect {
  /** Stores the events with gap-free positions, visible in commit order; ConcurrencyError when the stream moved. */
  append(request: AppendRequest): Promise<EventEnvelope[]>;
  /** Events of one stream from a version on, in version order. */
  readStream(streamId: string, fromVersion: number): Promise<EventEnvelope[]>;
  /** At most `limit` events matching the query, in position order. */
  query(q: EventQuery, limit: number): Promise<EventEnvelope[]>;
  headPosition(): Promise<number>;
  /** Readable and writable now, without writing or waiting. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** A row of the events table as the drivers return it (PostgreSQL hands a bigint over as a string). */
export interface EventRow {
  position: number | string;
  id: string;
  stream_id: string;
  stream_type: string;
  version: number;
  type: string;
  tenant_id: string | null;
  occurred_at: string;
  correlation_id: string | null;
  data: string;
}

export const EVENT_COLUMNS =
  'position, id, stream_id, stream_type, version, type, tenant_id, occurred_at, correlation_id, data';

export function toEnvelope(row: EventRow): EventEnvelope {
  return {
    id: row.id,
    stream_id: row.stream_id,
    stream_type: row.stream_type as StreamType,
    type: row.type as EventType,
    version: Number(row.version),
    position: Number(row.position),
    tenant_id: row.tenant_id,
    occurred_at: row.occurred_at,
    correlation_id: row.correlation_id,
    data: JSON.parse(row.data) as EventEnvelope['data'],
  };
}

/** The envelopes of one append: versions after `version`, positions after `position`. */
export function envelopes(request: AppendRequest, version: number, position: number): EventEnvelope[] {
  const occurredAt = new Date().toISOString();
  return request.events.map((event, i) => ({
    id: randomUUID(),
    stream_id: request.streamId,
    stream_type: request.streamType,
    type: event.type,
    version: version + i + 1,
    position: position + i + 1,
    tenant_id: request.meta.tenantId ?? null,
    occurred_at: occurredAt,
    correlation_id: request.meta.correlationId ?? null,
    data: event.data,
  }));
}

/** An envelope's values in EVENT_COLUMNS order, as stored. */
export function rowValues(e: EventEnvelope): unknown[] {
  return [
    e.position,
    e.id,
    e.stream_id,
    e.stream_type,
    e.version,
    e.type,
    e.tenant_id,
    e.occurred_at,
    e.correlation_id,
    JSON.stringify(e.data),
  ];
}

/**
 * The SELECT of a query, in either dialect: `placeholder(n)` spells the n-th parameter (1-based)
 * as the driver wants it (`?` or `$n`).
 */
export function selectEvents(
  q: EventQuery,
  limit: number,
  placeholder: (n: number) => string,
): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const where: string[] = [];
  const param = (value: unknown) => placeholder(params.push(value));
  if (q.stream_id !== undefined) where.push(`stream_id = ${param(q.stream_id)}`);
  if (q.stream_type !== undefined) where.push(`stream_type = ${param(q.stream_type)}`);
  if (q.type !== undefined) where.push(`type = ${param(q.type)}`);
  if (q.types !== undefined)
    where.push(q.types.length ? `type IN (${q.types.map(param).join(', ')})` : 'FALSE');
  if (q.tenant_id !== undefined) where.push(`tenant_id = ${param(q.tenant_id)}`);
  if (q.from !== undefined) where.push(`occurred_at >= ${param(q.from)}`);
  if (q.to !== undefined) where.push(`occurred_at < ${param(q.to)}`);
  if (q.after_position !== undefined) where.push(`position > ${param(q.after_position)}`);
  if (q.before_position !== undefined) where.push(`position < ${param(q.before_position)}`);
  const sql =
    `SELECT ${EVENT_COLUMNS} FROM events` +
    (where.length ? ` WHERE ${where.join(' AND ')}` : '') +
    ` ORDER BY position ${q.order === 'desc' ? 'DESC' : 'ASC'} LIMIT ${param(limit)}`;
  return { sql, params };
}
