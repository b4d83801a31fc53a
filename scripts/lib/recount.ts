import Database from 'better-sqlite3';

/** The numbers GET /metrics shows, counted straight from the events table (for tests and the soak). */
export function recountMetrics(dbPath: string) {
  const db = new Database(dbPath, { readonly: true });
  const one = (sql: string) => (db.prepare(sql).get() as { n: number | null }).n ?? 0;
  const groups = (sql: string) =>
    Object.fromEntries((db.prepare(sql).all() as Array<{ k: string; n: number }>).map((r) => [r.k, r.n]));
  const finished = `SELECT data FROM events WHERE type IN ('ExecutionFinished', 'SessionExecuted')`;
  try {
    const created = one(`SELECT COUNT(*) n FROM events WHERE type = 'SessionCreated'`);
    const expired = one(`SELECT COUNT(*) n FROM events WHERE type = 'SessionExpired'`);
    const destroyed = one(`SELECT COUNT(*) n FROM events WHERE type = 'SessionDestroyed'`);
    const lost = one(`SELECT COUNT(*) n FROM events WHERE type = 'SessionLost'`);
    const started = one(`SELECT COUNT(*) n FROM events WHERE type = 'ExecutionStarted'`);
    const oneOffEnded = one(
      `SELECT COUNT(*) n FROM events WHERE type IN ('ExecutionFinished', 'ExecutionLost')`,
    );
    return {
      sessions_created: created,
      sessions_reused: one(`SELECT COUNT(*) n FROM events WHERE type = 'SessionReused'`),
      sessions_expired: expired,
      sessions_destroyed: destroyed,
      sessions_lost: lost,
      active_sessions: created - expired - destroyed - lost,
      executions_total: one(`SELECT COUNT(*) n FROM (${finished})`),
      executions_by_status: groups(
        `SELECT json_extract(data, '$.status') k, COUNT(*) n FROM (${finished}) GROUP BY k`,
      ),
      executions_pending: started - oneOffEnded,
      executions_lost: one(`SELECT COUNT(*) n FROM events WHERE type = 'ExecutionLost'`),
      timeouts: one(`SELECT COUNT(*) n FROM (${finished}) WHERE json_extract(data, '$.timed_out') = 1`),
      oom_kills: one(`SELECT COUNT(*) n FROM (${finished}) WHERE json_extract(data, '$.oom_killed') = 1`),
      truncations: one(`SELECT COUNT(*) n FROM (${finished}) WHERE json_extract(data, '$.truncated') = 1`),
      executions_by_tenant: groups(
        `SELECT tenant_id k, COUNT(*) n FROM events WHERE type IN ('ExecutionFinished', 'SessionExecuted') GROUP BY k`,
      ),
      head: one('SELECT MAX(position) n FROM events'),
    };
  } finally {
    db.close();
  }
}

/** Ids of the sessions the log says are live: created and not expired, destroyed or lost. */
export function liveSessionIds(dbPath: string): string[] {
  const db = new Database(dbPath, { readonly: true });
  try {
    return (
      db
        .prepare(
          `SELECT json_extract(data, '$.session_id') id FROM events WHERE type = 'SessionCreated'
           AND json_extract(data, '$.session_id') NOT IN (
             SELECT json_extract(data, '$.session_id') FROM events
             WHERE type IN ('SessionExpired', 'SessionDestroyed', 'SessionLost'))`,
        )
        .all() as Array<{ id: string }>
    ).map((r) => r.id);
  } finally {
    db.close();
  }
}
