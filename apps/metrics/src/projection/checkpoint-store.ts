import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

/** A projection's state and the position it reflects, written together in one row. */
export class CheckpointStore {
  private readonly db: Database.Database;

  constructor(path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(
      'CREATE TABLE IF NOT EXISTS projections (name TEXT PRIMARY KEY, position INTEGER NOT NULL, state TEXT NOT NULL)',
    );
  }

  load<T>(name: string): T | null {
    const row = this.db.prepare('SELECT state FROM projections WHERE name = ?').get(name) as
      { state: string } | undefined;
    return row ? (JSON.parse(row.state) as T) : null;
  }

  save(name: string, position: number, state: unknown): void {
    this.db
      .prepare(
        'INSERT INTO projections (name, position, state) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET position = excluded.position, state = excluded.state',
      )
      .run(name, position, JSON.stringify(state));
  }

  close(): void {
    this.db.close();
  }
}
