import Database from 'better-sqlite3';
import Docker from 'dockerode';
import type { StackInfo } from '../../scripts/lib/stack';

export function stackInfo(): StackInfo {
  const raw = process.env.E2E_STACK;
  if (!raw) throw new Error('E2E_STACK is not set: run the e2e project through jest (global setup)');
  return JSON.parse(raw) as StackInfo;
}

export interface HttpReply<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Headers;
}

export async function post<T = Record<string, unknown>>(
  path: string,
  body: unknown,
  init: { raw?: string; contentType?: string } = {},
): Promise<HttpReply<T>> {
  const res = await fetch(`${stackInfo().apiUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': init.contentType ?? 'application/json' },
    body: init.raw ?? JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as T, headers: res.headers };
}

export async function get<T = Record<string, unknown>>(path: string): Promise<HttpReply<T>> {
  const res = await fetch(`${stackInfo().apiUrl}${path}`);
  return { status: res.status, body: (await res.json()) as T, headers: res.headers };
}

export interface StoredEvent {
  position: number;
  stream_id: string;
  version: number;
  type: string;
  tenant_id: string | null;
  /** ISO 8601, when the event was appended. */
  occurred_at: string;
  correlation_id: string | null;
  data: string;
}

/** Reads the stack's event store directly, read-only: what is really in the log. */
export function eventsOfStream(streamId: string): StoredEvent[] {
  const db = new Database(stackInfo().dbPath, { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare('SELECT * FROM events WHERE stream_id = ? ORDER BY position')
      .all(streamId) as StoredEvent[];
  } finally {
    db.close();
  }
}

/**
 * Waits until every container of the stack's runner is a running pool member: a used,
 * killed or broken sandbox left behind would show as exited or created. Used sandboxes are
 * removed after the reply, two at a time, each a call to the engine that a loaded host makes
 * take seconds: the bound is generous, and met at once when nothing is left.
 */
export async function expectNoLeftoverContainers(timeoutMs = 20000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let leftovers: Docker.ContainerInfo[] = [];
  while (Date.now() < deadline) {
    leftovers = (await containersOfRunner()).filter((c) => c.State !== 'running');
    if (leftovers.length === 0) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(
    `containers left behind: ${leftovers.map((c) => `${c.Id.slice(0, 12)} ${c.State}`).join(', ')}`,
  );
}

export async function containersOfRunner(): Promise<Docker.ContainerInfo[]> {
  const docker = new Docker();
  return docker.listContainers({
    all: true,
    filters: { label: [`executor.runner=${stackInfo().runnerId}`] },
  });
}
