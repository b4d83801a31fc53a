/**
 * The store's schema as migrations, applied in order and recorded by name in the `migrations`
 * table (the table, columns and names TypeORM used before, so a store made then is recognised).
 * Statements are idempotent (`IF NOT EXISTS`): a store half-made by a crash is finished.
 */
export interface Migration {
  name: string;
  timestamp: number;
  sqlite: string[];
  postgres: string[];
}

const eventsTable = (position: string) => `CREATE TABLE IF NOT EXISTS "events" (
  ${position},
  "id" varchar(36) NOT NULL UNIQUE,
  "stream_id" varchar(200) NOT NULL,
  "stream_type" varchar(50) NOT NULL,
  "version" integer NOT NULL,
  "type" varchar(100) NOT NULL,
  "tenant_id" varchar(100),
  "occurred_at" varchar(30) NOT NULL,
  "correlation_id" varchar(100),
  "data" text NOT NULL
)`;

const eventsIndexes = [
  `CREATE UNIQUE INDEX IF NOT EXISTS "ux_events_stream_version" ON "events" ("stream_id", "version")`,
  `CREATE INDEX IF NOT EXISTS "ix_events_type" ON "events" ("type")`,
  `CREATE INDEX IF NOT EXISTS "ix_events_tenant" ON "events" ("tenant_id")`,
];

export const MIGRATIONS: Migration[] = [
  {
    name: 'CreateEvents1764150000000',
    timestamp: 1764150000000,
    sqlite: [eventsTable('"position" integer PRIMARY KEY AUTOINCREMENT NOT NULL'), ...eventsIndexes],
    postgres: [
      eventsTable('"position" bigint PRIMARY KEY'),
      ...eventsIndexes,
      // The last position handed out, in exactly one row: appends take its row lock to assign
      // positions in commit order (see PostgresDialect). No sequence: a sequence leaves gaps.
      `CREATE TABLE IF NOT EXISTS "event_head" (
        "one" boolean PRIMARY KEY DEFAULT true CHECK ("one"),
        "head" bigint NOT NULL
      )`,
      `INSERT INTO "event_head" ("one", "head") SELECT true, COALESCE(MAX("position"), 0) FROM "events"
       ON CONFLICT ("one") DO NOTHING`,
    ],
  },
];

export const MIGRATIONS_TABLE = {
  sqlite: `CREATE TABLE IF NOT EXISTS "migrations" (
    "id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "timestamp" bigint NOT NULL, "name" varchar NOT NULL)`,
  postgres: `CREATE TABLE IF NOT EXISTS "migrations" (
    "id" SERIAL PRIMARY KEY, "timestamp" bigint NOT NULL, "name" varchar NOT NULL)`,
};

/** The migrations not yet recorded, in order. */
export function pending(applied: Iterable<string>): Migration[] {
  const done = new Set(applied);
  return MIGRATIONS.filter((m) => !done.has(m.name));
}
