import { basicSetup, EditorView } from 'codemirror';
import { Compartment, EditorState } from '@codemirror/state';
import { keymap } from '@codemirror/view';
import { javascript } from '@codemirror/lang-javascript';
import { python } from '@codemirror/lang-python';
import { oneDark } from '@codemirror/theme-one-dark';
import { ApiError, type RunResult, type StreamFrame } from '../api';
import { append, button, clear, controls, field, h, messageOf, select, statusLine, streamBox } from '../dom';
import { flags, renderError, renderResult } from '../results';
import type { Ctx, View } from '../view';

interface TemplateInfo {
  name: string;
  languages: string[];
  image_status: string;
}

interface SessionInfo {
  session_id: string;
  template: string;
  state: string;
}

function languageExtension(language: string) {
  if (language === 'python') return python();
  if (language === 'javascript') return javascript();
  if (language === 'typescript') return javascript({ typescript: true });
  return [];
}

/** Write code, pick a template and language, run it one-off or in a session, watch it stream. */
export class PlaygroundView implements View {
  readonly id = 'playground';
  readonly title = 'Playground';
  readonly el: HTMLElement;
  private readonly editor: EditorView;
  private readonly language = new Compartment();
  private readonly templateSel = select([['default', 'default']], 'default');
  private readonly languageSel = select([['python', 'python']], 'python');
  private readonly modeSel = select([
    ['oneoff', 'One-off run'],
    ['session', 'In a session'],
  ]);
  private readonly sessionSel = select([]);
  private readonly timeoutIn = h('input', { attrs: { type: 'number', min: '1', max: '3600', value: '30' } });
  private readonly runBtn: HTMLButtonElement;
  private readonly stopBtn: HTMLButtonElement;
  private readonly newSessionBtn: HTMLButtonElement;
  private readonly statusEl = statusLine('run-status');
  private readonly stdoutEl = streamBox('stdout', 'stdout', 'stdout');
  private readonly stderrEl = streamBox('stderr', 'stderr', 'stderr');
  private readonly resultsEl = h('div', { id: 'results', class: 'results' });
  private readonly errorEl = h('div', { id: 'run-error' });
  private readonly sessionRow: HTMLElement;
  private templates: TemplateInfo[] = [];
  private abort: AbortController | null = null;

  constructor(private readonly ctx: Ctx) {
    this.runBtn = button('Run (Ctrl+Enter)', () => void this.run(), 'primary');
    this.runBtn.id = 'run';
    this.stopBtn = button('Stop', () => this.abort?.abort(), 'danger');
    this.stopBtn.id = 'stop';
    this.stopBtn.disabled = true;
    this.newSessionBtn = button('New session', () => void this.newSession());
    this.newSessionBtn.id = 'new-session';
    const editorHost = h('div', { class: 'editor', attrs: { 'aria-label': 'Code editor' } });
    this.editor = new EditorView({
      parent: editorHost,
      state: EditorState.create({
        doc: 'print("Hello, Sandbox!")\n',
        extensions: [
          keymap.of([{ key: 'Mod-Enter', run: () => (void this.run(), true) }]),
          basicSetup,
          oneDark,
          EditorView.cspNonce.of(ctx.nonce),
          EditorView.contentAttributes.of({ 'aria-label': 'Code', id: 'code' }),
          this.language.of(python()),
        ],
      }),
    });
    this.templateSel.addEventListener('change', () => this.pickTemplate());
    this.languageSel.addEventListener('change', () =>
      this.editor.dispatch({ effects: this.language.reconfigure(languageExtension(this.languageSel.value)) }),
    );
    this.modeSel.addEventListener('change', () => this.showMode());
    this.sessionRow = h(
      'div',
      { class: 'row' },
      field('Session', this.sessionSel, 'session'),
      this.newSessionBtn,
    );
    this.el = h(
      'section',
      { class: 'view playground', attrs: { 'aria-label': 'Playground' } },
      controls(
        field('Template', this.templateSel, 'template'),
        field('Language', this.languageSel, 'language'),
        field('Run', this.modeSel, 'mode'),
        field('Timeout (s)', this.timeoutIn, 'timeout'),
      ),
      this.sessionRow,
      editorHost,
      h('div', { class: 'row' }, this.runBtn, this.stopBtn),
      this.statusEl,
      h('h3', {}, 'stdout'),
      this.stdoutEl,
      h('h3', {}, 'stderr'),
      this.stderrEl,
      this.errorEl,
      h('h3', {}, 'Results'),
      this.resultsEl,
    );
    this.showMode();
  }

  activate(params: URLSearchParams): void {
    void this.load(params.get('session') ?? undefined);
  }

  deactivate(): void {}

  private async load(session?: string): Promise<void> {
    try {
      const { templates } = await this.ctx.api.get<{ templates: TemplateInfo[] }>('/templates');
      this.templates = templates;
      const current = this.templateSel.value;
      clear(this.templateSel);
      for (const t of templates) {
        const label = t.image_status === 'ready' ? t.name : `${t.name} (${t.image_status})`;
        append(this.templateSel, h('option', { attrs: { value: t.name } }, label));
      }
      this.templateSel.value = templates.some((t) => t.name === current) ? current : 'default';
      this.pickTemplate();
      await this.loadSessions(session);
    } catch (err) {
      this.status(err);
    }
  }

  private async loadSessions(pick?: string): Promise<void> {
    const { sessions } = await this.ctx.api.get<{ sessions: SessionInfo[] }>('/sessions', {
      tenant_id: this.ctx.api.tenantId,
    });
    clear(this.sessionSel);
    for (const s of sessions.filter((s) => s.state === 'active'))
      append(
        this.sessionSel,
        h('option', { attrs: { value: s.session_id } }, `${s.session_id.slice(0, 8)} · ${s.template}`),
      );
    if (pick) {
      if (![...this.sessionSel.options].some((o) => o.value === pick))
        append(this.sessionSel, h('option', { attrs: { value: pick } }, pick.slice(0, 8)));
      this.sessionSel.value = pick;
      this.modeSel.value = 'session';
      const s = sessions.find((x) => x.session_id === pick);
      if (s) {
        this.templateSel.value = s.template;
        this.pickTemplate();
      }
      this.showMode();
    }
  }

  private pickTemplate(): void {
    const t = this.templates.find((x) => x.name === this.templateSel.value);
    const langs = t?.languages.length ? t.languages : ['python'];
    const current = this.languageSel.value;
    clear(this.languageSel);
    for (const l of langs) append(this.languageSel, h('option', { attrs: { value: l } }, l));
    this.languageSel.value = langs.includes(current) ? current : langs[0];
    this.editor.dispatch({ effects: this.language.reconfigure(languageExtension(this.languageSel.value)) });
  }

  private showMode(): void {
    this.sessionRow.hidden = this.modeSel.value !== 'session';
  }

  private async newSession(): Promise<void> {
    try {
      const s = await this.ctx.api.json<{ session_id: string }>('POST', '/session/create', {
        tenant_id: this.ctx.api.tenantId,
        scope: 'console',
        template: this.templateSel.value,
        reuse: false,
      });
      await this.loadSessions(s.session_id);
      this.statusEl.textContent = `session ${s.session_id} created`;
    } catch (err) {
      this.status(err);
    }
  }

  /** Sets the code (the tests and the Sessions view use it). */
  setCode(code: string): void {
    this.editor.dispatch({ changes: { from: 0, to: this.editor.state.doc.length, insert: code } });
  }

  private status(err: unknown): void {
    this.statusEl.textContent =
      err instanceof ApiError ? `${err.code}: ${err.message}` : `error: ${messageOf(err)}`;
    this.statusEl.dataset.state = 'failed';
  }

  private async run(): Promise<void> {
    if (this.abort) return;
    const inSession = this.modeSel.value === 'session';
    if (inSession && !this.sessionSel.value) {
      this.statusEl.textContent = 'create or pick a session first';
      return;
    }
    clear(this.stdoutEl);
    clear(this.stderrEl);
    clear(this.resultsEl);
    clear(this.errorEl);
    this.statusEl.textContent = 'running…';
    this.statusEl.dataset.state = 'running';
    this.abort = new AbortController();
    this.runBtn.disabled = true;
    this.stopBtn.disabled = false;
    const timeout = Number(this.timeoutIn.value) || undefined;
    const code = this.editor.state.doc.toString();
    const body = inSession
      ? {
          session_id: this.sessionSel.value,
          tenant_id: this.ctx.api.tenantId,
          code,
          language: this.languageSel.value,
          timeout,
        }
      : {
          tenant_id: this.ctx.api.tenantId,
          scope: 'console',
          code,
          language: this.languageSel.value,
          template: this.templateSel.value,
          timeout,
        };
    let done: RunResult | null = null;
    const started = performance.now();
    try {
      await this.ctx.api.run(
        inSession ? '/session/execute' : '/execute',
        body,
        (f: StreamFrame) => {
          if (f.type === 'stdout') append(this.stdoutEl, f.text ?? '');
          else if (f.type === 'stderr') append(this.stderrEl, f.text ?? '');
          else if (f.type === 'result' && f.data)
            append(this.resultsEl, renderResult({ data: f.data, is_main_result: f.is_main_result ?? false }));
          else if (f.type === 'done' && f.result) done = f.result;
          else if (f.type === 'error' && f.error) throw new ApiError(f.error.code, f.error.message, 200);
        },
        this.abort.signal,
      );
      if (done) this.finish(done);
    } catch (err) {
      if (this.abort.signal.aborted) {
        this.statusEl.textContent = `stopped after ${((performance.now() - started) / 1000).toFixed(2)} s`;
        this.statusEl.dataset.state = 'stopped';
      } else this.status(err);
    } finally {
      this.abort = null;
      this.runBtn.disabled = false;
      this.stopBtn.disabled = true;
    }
  }

  private finish(r: RunResult): void {
    // The final result is authoritative: what streamed is replaced by it.
    clear(this.stdoutEl);
    clear(this.stderrEl);
    clear(this.resultsEl);
    append(this.stdoutEl, r.stdout);
    append(this.stderrEl, r.stderr);
    for (const res of r.results) append(this.resultsEl, renderResult(res));
    const extra = flags(r);
    const count = r.execution_count ? ` · run ${r.execution_count}` : '';
    this.statusEl.textContent =
      `${r.status} · exit ${r.exit_code} · ${r.execution_time.toFixed(3)} s${count}` +
      (extra.length ? ` · ${extra.join(', ')}` : '');
    this.statusEl.dataset.state = r.status;
    append(this.errorEl, renderError(r));
  }
}
