import { openEventStream, type EventEnvelope, type EventStreamHandle } from '../api';
import { append, button, clear, controls, field, h, showError, table, viewSection, when } from '../dom';
import type { Ctx, View } from '../view';

const MAX_SHOWN = 500;

function row(e: EventEnvelope): HTMLElement {
  return h(
    'li',
    { class: 'event', attrs: { 'data-position': String(e.position) } },
    h('span', { class: 'pos' }, `#${e.position}`),
    ' ',
    h('strong', {}, e.type),
    ' ',
    h('code', {}, e.stream_id),
    ' ',
    h('span', { class: 'muted' }, `${e.tenant_id ?? '—'} · ${when(e.occurred_at)}`),
    h('details', {}, h('summary', {}, 'data'), h('pre', {}, JSON.stringify(e.data, null, 2))),
  );
}

/** The live stream (GET /events/stream), filtered, and for admins the paged query of the store. */
export class EventsView implements View {
  readonly id = 'events';
  readonly title = 'Events';
  readonly el: HTMLElement;
  private readonly live = h('ol', { id: 'live-events', class: 'events', attrs: { 'aria-live': 'polite' } });
  private readonly liveStatus = h('span', { id: 'live-status', class: 'status' });
  private readonly typeIn = h('input', { attrs: { type: 'text', placeholder: 'SessionCreated,…' } });
  private readonly tenantIn = h('input', { attrs: { type: 'text' } });
  private readonly streamIn = h('input', { attrs: { type: 'text', placeholder: 'session-<id>' } });
  private readonly afterIn = h('input', { attrs: { type: 'number', min: '0', placeholder: 'new only' } });
  private readonly admin: HTMLElement;
  private readonly page = h('div', { id: 'admin-page' });
  private readonly cursors: Array<number | undefined> = [];
  private next: number | null = null;
  private handle: EventStreamHandle | null = null;

  constructor(private readonly ctx: Ctx) {
    const aType = h('input', { attrs: { type: 'text' } });
    const aTenant = h('input', { attrs: { type: 'text' } });
    const aStream = h('input', { attrs: { type: 'text' } });
    const query = (before?: number) =>
      void this.query({ type: aType.value, tenant: aTenant.value, stream: aStream.value }, before);
    this.admin = h(
      'div',
      { class: 'admin-only' },
      h('h3', {}, 'Query the store (admin)'),
      controls(
        field('Type', aType, 'q-type'),
        field('Tenant', aTenant, 'q-tenant'),
        field('Stream', aStream, 'q-stream'),
        button('Search', () => {
          this.cursors.length = 0;
          query();
        }),
        button('Newer', () => {
          this.cursors.pop();
          query(this.cursors.pop());
        }),
        button('Older', () => {
          if (this.next !== null) query(this.next);
        }),
      ),
      this.page,
    );
    this.el = viewSection(
      'Events',
      h('h2', {}, 'Live events ', this.liveStatus),
      controls(
        field('Types', this.typeIn, 'ev-type'),
        field('Tenant', this.tenantIn, 'ev-tenant'),
        field('Stream', this.streamIn, 'ev-stream'),
        field('After position', this.afterIn, 'ev-after'),
        button('Follow', () => this.follow()),
        button('Clear', () => clear(this.live)),
      ),
      this.live,
      this.admin,
    );
  }

  activate(): void {
    this.admin.hidden = !this.ctx.api.isAdmin;
    this.tenantIn.disabled = this.ctx.api.role === 'tenant';
    if (!this.handle) this.follow();
  }

  deactivate(): void {
    this.handle?.close();
    this.handle = null;
    this.liveStatus.textContent = '';
  }

  private follow(): void {
    this.handle?.close();
    clear(this.live);
    this.handle = openEventStream(
      this.ctx.api,
      {
        type: this.typeIn.value.replace(/\s+/g, ''),
        tenant: this.tenantIn.value,
        stream: this.streamIn.value,
        after: this.afterIn.value,
      },
      (e) => {
        this.live.prepend(row(e));
        while (this.live.childElementCount > MAX_SHOWN) this.live.lastElementChild?.remove();
      },
      (s) => (this.liveStatus.textContent = `(${s})`),
    );
  }

  private async query(f: Record<string, string>, before?: number): Promise<void> {
    try {
      const reply = await this.ctx.api.get<{ events: EventEnvelope[]; next: number | null }>(
        '/admin/events',
        {
          ...f,
          order: 'desc',
          limit: 50,
          before_position: before,
        },
      );
      this.cursors.push(before);
      this.next = reply.next;
      clear(this.page);
      append(
        this.page,
        table(
          ['Position', 'Type', 'Stream', 'Tenant', 'When'],
          reply.events.map((e) => [
            String(e.position),
            e.type,
            h('code', {}, e.stream_id),
            e.tenant_id ?? '—',
            when(e.occurred_at),
          ]),
        ),
      );
    } catch (err) {
      showError(this.page, err);
    }
  }
}
