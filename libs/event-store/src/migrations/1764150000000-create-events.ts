import { MigrationInterface, QueryRunner } from 'typeorm';

/** The events table. `IF NOT EXISTS`: several processes may migrate one file at start. */
export class CreateEvents1764150000000 implements MigrationInterface {
  name = 'CreateEvents1764150000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE IF NOT EXISTS "events" (
      "position" integer PRIMARY KEY AUTOINCREMENT NOT NULL,
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
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS "events"`);
  }
}
