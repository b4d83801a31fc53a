import { openEventStream, type EventEnvelope, type EventStreamHandle } from '../api';
import {
  append,
  button,
  bytes,
  clear,
  controls,
  download,
  field,
  fromBase64,
  h,
  listHeading,
  messageOf,
  showError,
  statusLine,
  table,
  toBase64,
  viewSection,
  when,
} from '../dom';
import type { Ctx, View } from '../view';

interface SessionInfo {
  session_id: string;
  template: string;
  state: string;
  scope: string;
  created_at: string;
  last_used_at: string;
  expires_at: string;
  deadline_at?: string;
  executions: number;
}

interface FileEntry {
  name: string;
  path: string;
  type: string;
  size: number;
  modified: string;
}

/** A button's accessible name where its text alone is ambiguous (one per file row). */
function named(el: HTMLButtonElement, label: string): HTMLButtonElement {
  el.setAttribute('aria-label', label);
  return el;
}

/** The tenant's sessions; one opened shows its files and its runs as they happen. */
export class SessionsView implements View {
  readonly id = 'sessions';
  readonly title = 'Sessions';
  readonly el: HTMLElement;
  private readonly list = h('div', { id: 'session-list' });
  private readonly detail = h('div', { id: 'session-detail', class: 'detail' });
  private readonly message = statusLine();
  private runs: EventStreamHandle | null = null;
  private timer: number | undefined;

  constructor(private readonly ctx: Ctx) {
    this.el = viewSection(
      'Sessions',
      listHeading('Sessions', () => void this.refresh()),
      this.message,
      this.list,
      this.detail,
    );
  }

  activate(params: URLSearchParams): void {
    void this.refresh();
    this.timer = window.setInterval(() => void this.refresh(), 5000);
    const open = params.get('session');
    if (open) void this.open(open);
  }

  deactivate(): void {
    window.clearInterval(this.timer);
    this.runs?.close();
    this.runs = null;
  }

  private fail(err: unknown): void {
    this.message.textContent = messageOf(err);
  }

  private async refresh(): Promise<void> {
    try {
      const { sessions } = await this.ctx.api.get<{ sessions: SessionInfo[] }>('/sessions', {
        tenant_id: this.ctx.api.tenantId,
      });
      clear(this.list);
      if (sessions.length === 0) {
        append(this.list, h('p', {}, 'No sessions. Create one in the Playground (Run: In a session).'));
        return;
      }
      append(
        this.list,
        table(
          ['Session', 'State', 'Template', 'Idle until', 'Ends at', 'Runs', ''],
          sessions.map((s) => [
            h('code', {}, s.session_id),
            s.state,
            s.template,
            when(s.expires_at),
            s.deadline_at ? when(s.deadline_at) : '—',
            String(s.executions),
            h(
              'span',
              { class: 'actions' },
              button('Open in playground', () => this.ctx.go('playground', { session: s.session_id })),
              button('Files and runs', () => void this.open(s.session_id)),
              s.state === 'active'
                ? button('Destroy', () => void this.destroy(s.session_id), 'danger')
                : null,
            ),
          ]),
        ),
      );
    } catch (err) {
      this.fail(err);
    }
  }

  private async destroy(id: string): Promise<void> {
    if (!window.confirm(`Destroy session ${id}? Its sandbox and files are gone for good.`)) return;
    try {
      await this.ctx.api.json('POST', '/session/destroy', {
        session_id: id,
        tenant_id: this.ctx.api.tenantId,
      });
      this.message.textContent = `session ${id} destroyed`;
      await this.refresh();
    } catch (err) {
      this.fail(err);
    }
  }

  private async open(id: string): Promise<void> {
    this.runs?.close();
    clear(this.detail);
    const files = h('div', { class: 'files', id: 'session-files' });
    const runsBody = h('tbody', { id: 'session-runs' });
    const runsStatus = h('span', { class: 'status' });
    const upload = h('input', { attrs: { type: 'file', multiple: '' } });
    const dirIn = h('input', { attrs: { type: 'text', placeholder: 'folder (empty: /workspace)' } });
    append(
      this.detail,
      h('h3', {}, 'Session ', h('code', {}, id)),
      h('h4', {}, 'Files in /workspace'),
      controls(
        field('Folder', dirIn, 'files-dir'),
        button('List', () => void this.listFiles(id, dirIn.value, files)),
        field('Upload files', upload, 'files-upload'),
        Object.assign(
          button('Upload', () => void this.upload(id, dirIn.value, upload, files)),
          { id: 'files-upload-send' },
        ),
      ),
      files,
      h('h4', {}, 'Runs ', runsStatus),
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          {},
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ...['#', 'When', 'Language', 'Status', 'Exit', 'Duration', 'Flags'].map((c) => h('th', {}, c)),
            ),
          ),
          runsBody,
        ),
      ),
    );
    await this.listFiles(id, '', files);
    let n = 0;
    // Its runs from the start of the log, then live: the event stream, filtered to this session.
    this.runs = openEventStream(
      this.ctx.api,
      { stream: `session-${id}`, type: 'SessionExecuted', after: '0' },
      (e: EventEnvelope) => {
        const d = e.data;
        const fl = ['timed_out', 'oom_killed', 'truncated', 'state_lost'].filter((k) => d[k] === true);
        runsBody.prepend(
          h(
            'tr',
            {},
            ...[
              String(++n),
              when(e.occurred_at),
              String(d.language),
              String(d.status),
              String(d.exit_code),
              `${Number(d.duration_ms)} ms`,
              fl.join(', '),
            ].map((c) => h('td', {}, c)),
          ),
        );
      },
      (s) => (runsStatus.textContent = `(${s})`),
    );
  }

  private async listFiles(id: string, dir: string, into: HTMLElement): Promise<void> {
    try {
      const { entries, path } = await this.ctx.api.get<{ entries: FileEntry[]; path: string }>(
        '/session/files/list',
        {
          session_id: id,
          tenant_id: this.ctx.api.tenantId,
          path: dir,
        },
      );
      clear(into);
      append(
        into,
        h('p', {}, `/workspace/${path === '.' ? '' : path}`),
        table(
          ['Name', 'Type', 'Size', 'Modified', ''],
          entries.map((f) => [
            f.name,
            f.type,
            f.type === 'file' ? bytes(f.size) : '',
            when(f.modified),
            h(
              'span',
              { class: 'actions' },
              f.type === 'dir'
                ? named(
                    button('Open', () => void this.listFiles(id, f.path, into)),
                    `Open ${f.name}`,
                  )
                : null,
              f.type === 'file'
                ? named(
                    button('Download', () => void this.download(id, f.path)),
                    `Download ${f.name}`,
                  )
                : null,
              named(
                button('Delete', () => void this.remove(id, f.path, dir, into), 'danger'),
                `Delete ${f.name}`,
              ),
            ),
          ]),
        ),
      );
    } catch (err) {
      showError(into, err);
    }
  }

  private async download(id: string, path: string): Promise<void> {
    try {
      const f = await this.ctx.api.get<{ content: string; mime?: string }>('/session/files/download', {
        session_id: id,
        tenant_id: this.ctx.api.tenantId,
        path,
        format: 'json',
      });
      download(path, fromBase64(f.content), 'application/octet-stream');
    } catch (err) {
      this.fail(err);
    }
  }

  private async upload(id: string, dir: string, input: HTMLInputElement, into: HTMLElement): Promise<void> {
    try {
      for (const file of Array.from(input.files ?? [])) {
        const content = toBase64(new Uint8Array(await file.arrayBuffer()));
        await this.ctx.api.json('POST', '/session/files/upload', {
          session_id: id,
          tenant_id: this.ctx.api.tenantId,
          path: dir ? `${dir.replace(/\/+$/, '')}/${file.name}` : file.name,
          content,
          encoding: 'base64',
        });
      }
      input.value = '';
      await this.listFiles(id, dir, into);
    } catch (err) {
      this.fail(err);
    }
  }

  private async remove(id: string, path: string, dir: string, into: HTMLElement): Promise<void> {
    if (!window.confirm(`Delete ${path}?`)) return;
    try {
      await this.ctx.api.json('POST', '/session/files/delete', {
        session_id: id,
        tenant_id: this.ctx.api.tenantId,
        path,
      });
      await this.listFiles(id, dir, into);
    } catch (err) {
      this.fail(err);
    }
  }
}
