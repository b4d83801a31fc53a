import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The events table, in SQLite or PostgreSQL. `IF NOT EXISTS`: several processes may migrate
 * one SQLite file at start (PostgreSQL migrations also run under an advisory lock).
 */
export class CreateEvents1764150000000 implements MigrationInterface {
  name = 'CreateEvents1764150000000';

  async up(q: QueryRunner): Promise<void> {
    const postgres = q.connection.driver.options.type === 'postgres';
    await q.query(`CREATE TABLE IF NOT EXISTS "events" (
      ${postgres ? '"position" bigint PRIMARY KEY' : '"position" integer PRIMARY KEY AUTOINCREMENT NOT NULL'},
      "id" varchar(36) NOT NULL UNIQUE,
      "stream_id" varchar(200) NOT NULL,
      "stream_type" varchar(50) NOT NULL,
      "version" integer NOT NULL,
      "type" varchar(100) NOT NULL,
      "tenant_id" varchar(100),
      "occurred_at" varchar(30) NOT NULL,
      "correlation_id" varchar(100),
      "data" text NOT NULL
    )`);
    await q.query(
      `CREATE UNIQUE INDEX IF NOT EXISTS "ux_events_stream_version" ON "events" ("stream_id", "version")`,
    );
    await q.query(`CREATE INDEX IF NOT EXISTS "ix_events_type" ON "events" ("type")`);
    await q.query(`CREATE INDEX IF NOT EXISTS "ix_events_tenant" ON "events" ("tenant_id")`);
    if (postgres) {
      // The last position handed out, in exactly one row: appends take its row lock to assign
      // positions in commit order (see EventStore). No sequence: a sequence leaves gaps.
      await q.query(`CREATE TABLE IF NOT EXISTS "event_head" (
        "one" boolean PRIMARY KEY DEFAULT true CHECK ("one"),
        "head" bigint NOT NULL
      )`);
      await q.query(
        `INSERT INTO "event_head" ("one", "head") SELECT true, COALESCE(MAX("position"), 0) FROM "events"
         ON CONFLICT ("one") DO NOTHING`,
      );
    }
  }

  async down(q: QueryRunner): Promise<void> {
    if (q.connection.driver.options.type === 'postgres') await q.query(`DROP TABLE IF EXISTS "event_head"`);
    await q.query(`DROP TABLE IF EXISTS "events"`);
  }
}
