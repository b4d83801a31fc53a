import type { Writable } from 'node:stream';

/** What a client may leave unread before it is dropped: a slow reader never fills our memory. */
export const MAX_UNREAD_BYTES = 1024 * 1024;

/**
 * Server-sent events onto a response. Every write checks what the client has not read yet
 * (the stream's own buffer): past the bound the client is disconnected and may come back
 * with Last-Event-ID, which loses nothing because the store has it all.
 */
export class SseWriter {
  private dropped = false;

  constructor(
    private readonly out: Writable,
    private readonly maxUnread = MAX_UNREAD_BYTES,
    private readonly onDrop: () => void = () => undefined,
  ) {}

  get open(): boolean {
    return !this.dropped && !this.out.destroyed && !this.out.writableEnded;
  }

  /** `id` is the event's global position; `data` one JSON value (JSON has no raw newlines). */
  event(id: number, data: unknown, type?: string): void {
    const head = type ? `event: ${type}\n` : '';
    this.write(`${head}id: ${id}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  /** A comment line: keeps proxies and the client from calling the connection dead. */
  comment(text: string): void {
    this.write(`: ${text.replace(/[\r\n]/g, ' ')}\n\n`);
  }

  raw(text: string): void {
    this.write(text);
  }

  private write(text: string): void {
    if (!this.open) return;
    if (this.out.writableLength + Buffer.byteLength(text) > this.maxUnread) {
      this.dropped = true;
      this.out.destroy();
      this.onDrop();
      return;
    }
    this.out.write(text);
  }
}
