import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** One row per event. `position` is the global order; (stream_id, version) is unique per stream. */
@Entity({ name: 'events' })
@Index('ux_events_stream_version', ['stream_id', 'version'], { unique: true })
@Index('ix_events_type', ['type'])
@Index('ix_events_tenant', ['tenant_id'])
export class EventRecord {
  /**
   * Assigned by the store on append (AUTOINCREMENT in SQLite, under the `event_head` lock in
   * PostgreSQL). PostgreSQL hands a bigint over as a string: read as a number.
   */
  @PrimaryColumn({ type: 'bigint', transformer: { from: (v: unknown) => Number(v), to: (v: unknown) => v } })
  position: number;

  @Column({ type: 'varchar', length: 36, unique: true })
  id: string;

  @Column({ type: 'varchar', length: 200 })
  stream_id: string;

  @Column({ type: 'varchar', length: 50 })
  stream_type: string;

  @Column({ type: 'integer' })
  version: number;

  @Column({ type: 'varchar', length: 100 })
  type: string;

  @Column({ type: 'varchar', length: 100, nullable: true })
  tenant_id: string | null;

  @Column({ type: 'varchar', length: 30 })
  occurred_at: string;

  @Column({ type: 'varchar', length: 100, nullable: true })
  correlation_id: string | null;

  @Column({ type: 'text' })
  data: string;
}
