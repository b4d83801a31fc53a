import Database from 'better-sqlite3';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { EventStore } from './event-store';
import type { EventStoreOptions } from './options';
import { IntegrityCheck, type IntegrityReport } from './integrity';

/** Copies a database with SQLite's online backup: one point in time, its WAL included. */
async function copyDatabase(from: string, to: string): Promise<void> {
  const db = new Database(from, { readonly: true, fileMustExist: true });
  try {
    await db.backup(to);
  } finally {
    db.close();
  }
}

/** Runs the integrity check over a store: a SQLite file path, or the options of either driver. */
export async function checkStore(where: string | EventStoreOptions): Promise<IntegrityReport> {
  const store = await EventStore.open(typeof where === 'string' ? { path: where } : where);
  const check = new IntegrityCheck();
  try {
    for await (const e of store.scan()) check.add(e);
  } finally {
    await store.close();
  }
  return check.finish();
}

/**
 * Backup and restore below are SQLite's: a PostgreSQL store is copied with pg_dump and put
 * back with pg_restore (docs/events.md).
 *
 * A consistent copy of a live store, taken with SQLite's online backup (writers keep going;
 * the copy is one point in time), then checked.
 */
export async function backupStore(source: string, destination: string): Promise<IntegrityReport> {
  if (!existsSync(source)) throw new Error(`no event store at ${source}`);
  if (existsSync(destination)) throw new Error(`${destination} exists; choose a new file`);
  mkdirSync(dirname(destination), { recursive: true });
  await copyDatabase(source, destination);
  return checkStore(destination);
}

/**
 * Puts a backup in place of a store. The backup is checked first and refused when it fails
 * (unless forced); the store it replaces is kept next to it as `<file>.before-restore-<time>`.
 * Stop the services that use the store first: they keep state read from the old one.
 */
export async function restoreStore(
  backup: string,
  target: string,
  opts: { force?: boolean; now?: Date } = {},
): Promise<{ report: IntegrityReport; previous: string | null }> {
  if (!existsSync(backup)) throw new Error(`no backup at ${backup}`);
  const report = await checkStore(backup);
  if (!report.ok && !opts.force) {
    throw new Error(`the backup fails the integrity check (use --force to restore it anyway)`);
  }
  let previous: string | null = null;
  if (existsSync(target)) {
    previous = `${target}.before-restore-${(opts.now ?? new Date()).toISOString().replace(/[:.]/g, '-')}`;
    await copyDatabase(target, previous);
  }
  mkdirSync(dirname(target), { recursive: true });
  // The backup API writes the whole database into the target under its locks.
  await copyDatabase(backup, target);
  return { report, previous };
}
