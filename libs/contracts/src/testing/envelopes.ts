import type { EventEnvelope } from '../events';

/**
 * A stored event for a test: its type and position, and whatever else the test sets; the rest
 * plain (event e<position> of stream session-<position>, tenant t1, at time 0, no data).
 */
export function storedEvent(
  fields: Pick<EventEnvelope, 'type' | 'position'> & Partial<EventEnvelope>,
): EventEnvelope {
  return {
    id: `e${fields.position}`,
    stream_id: `session-${fields.position}`,
    stream_type: 'session',
    version: 1,
    tenant_id: 't1',
    occurred_at: new Date(0).toISOString(),
    correlation_id: null,
    data: {} as EventEnvelope['data'],
    ...fields,
  };
}
