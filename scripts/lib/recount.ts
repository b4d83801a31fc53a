import { EventStore } from '../../libs/event-store/src/event-store';
import type { EventStoreOptions } from '../../libs/event-store/src/options';

type Where = string | EventStoreOptions;

/** Every event of the store, in position order: a SQLite path or the options of either driver. */
async function* allEvents(where: Where) {
  const store = await EventStore.open(typeof where === 'string' ? { path: where } : where);
  try {
    yield* store.scan();
  } finally {
    await store.close();
  }
}

/**
 * The numbers GET /metrics shows, counted straight from the log (for tests and the soak): a
 * second count, independent of the metrics projection.
 */
export async function recountMetrics(where: Where) {
  const count = new Map<string, number>();
  const byStatus: Record<string, number> = {};
  const byTenant: Record<string, number> = {};
  let [executions, timeouts, oomKills, truncations, head] = [0, 0, 0, 0, 0];
  for await (const e of allEvents(where)) {
    count.set(e.type, (count.get(e.type) ?? 0) + 1);
    head = e.position;
    if (e.type !== 'ExecutionFinished' && e.type !== 'SessionExecuted') continue;
    const d = e.data as { status?: string; timed_out?: boolean; oom_killed?: boolean; truncated?: boolean };
    executions++;
    byStatus[String(d.status ?? null)] = (byStatus[String(d.status ?? null)] ?? 0) + 1;
    byTenant[String(e.tenant_id)] = (byTenant[String(e.tenant_id)] ?? 0) + 1;
    if (d.timed_out === true) timeouts++;
    if (d.oom_killed === true) oomKills++;
    if (d.truncated === true) truncations++;
  }
  const n = (type: string) => count.get(type) ?? 0;
  return {
    sessions_created: n('SessionCreated'),
    sessions_reused: n('SessionReused'),
    sessions_expired: n('SessionExpired'),
    sessions_destroyed: n('SessionDestroyed'),
    sessions_lost: n('SessionLost'),
    active_sessions: n('SessionCreated') - n('SessionExpired') - n('SessionDestroyed') - n('SessionLost'),
    executions_total: executions,
    executions_by_status: byStatus,
    executions_pending: n('ExecutionStarted') - n('ExecutionFinished') - n('ExecutionLost'),
    executions_lost: n('ExecutionLost'),
    timeouts,
    oom_kills: oomKills,
    truncations,
    executions_by_tenant: byTenant,
    head,
  };
}

/** Ids of the sessions the log says are live: created and not expired, destroyed or lost. */
export async function liveSessionIds(where: Where): Promise<string[]> {
  const live = new Set<string>();
  for await (const e of allEvents(where)) {
    const id = (e.data as { session_id?: string }).session_id;
    if (id === undefined) continue;
    if (e.type === 'SessionCreated') live.add(id);
    if (e.type === 'SessionExpired' || e.type === 'SessionDestroyed' || e.type === 'SessionLost')
      live.delete(id);
  }
  return [...live];
}
