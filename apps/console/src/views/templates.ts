import { ApiError } from '../api';
import {
  append,
  button,
  bytes,
  clear,
  field,
  h,
  listHeading,
  messageOf,
  select,
  statusLine,
  streamBox,
  table,
  viewSection,
} from '../dom';
import type { Ctx, View } from '../view';

interface TemplateInfo {
  name: string;
  description: string;
  languages: string[];
  image_status: string;
  image_size?: number;
  memory_limit: string;
  timeout: number;
  builtin: boolean;
  build_error?: string;
  build_log?: string[];
  tenant_id?: string;
}

const words = (s: string) => s.split(/[\s,]+/).filter(Boolean);

/** Templates with their images; a form to register a custom one, and its build log as it grows. */
export class TemplatesView implements View {
  readonly id = 'templates';
  readonly title = 'Templates';
  readonly el: HTMLElement;
  private readonly list = h('div', { id: 'template-list' });
  private readonly message = statusLine();
  private readonly buildStatus = statusLine('build-status');
  private readonly buildLog = streamBox('build-log', 'Build log');
  private readonly baseSel = select([['default', 'default']]);
  private readonly form: HTMLFormElement;
  private watching: number | undefined;

  constructor(private readonly ctx: Ctx) {
    const input = (placeholder = '') => h('input', { attrs: { type: 'text', placeholder } });
    const name = input('my-template');
    const description = input();
    const apt = input('e.g. jq');
    const pip = input('e.g. requests');
    const npm = input('e.g. lodash');
    const memory = input('e.g. 512m');
    const timeout = h('input', { attrs: { type: 'number', min: '1', max: '3600' } });
    const setup = h('textarea', { attrs: { rows: '4', placeholder: 'one shell command per line' } });
    this.form = h(
      'form',
      {
        class: 'controls register',
        attrs: { 'aria-label': 'Register a custom template' },
        on: {
          submit: (ev) => {
            ev.preventDefault();
            void this.register({
              name: name.value.trim(),
              base: this.baseSel.value,
              ...(description.value ? { description: description.value } : {}),
              packages: { apt: words(apt.value), pip: words(pip.value), npm: words(npm.value) },
              ...(memory.value ? { memory_limit: memory.value.trim() } : {}),
              ...(timeout.value ? { timeout: Number(timeout.value) } : {}),
              setup_commands: setup.value.split('\n').filter((l) => l.trim()),
            });
          },
        },
      },
      field('Name', name, 'tpl-name'),
      field('Base', this.baseSel, 'tpl-base'),
      field('Description', description, 'tpl-description'),
      field('apt packages', apt, 'tpl-apt'),
      field('pip packages', pip, 'tpl-pip'),
      field('npm packages', npm, 'tpl-npm'),
      field('Memory', memory, 'tpl-memory'),
      field('Timeout (s)', timeout, 'tpl-timeout'),
      field('Setup commands', setup, 'tpl-setup'),
      h('button', { class: 'primary', id: 'tpl-register', attrs: { type: 'submit' } }, 'Register and build'),
    );
    this.el = viewSection(
      'Templates',
      listHeading('Templates', () => void this.refresh()),
      this.message,
      this.list,
      h('h3', {}, 'Register a custom template'),
      this.form,
      h('h3', {}, 'Build'),
      this.buildStatus,
      this.buildLog,
    );
  }

  activate(): void {
    void this.refresh();
  }

  deactivate(): void {
    window.clearTimeout(this.watching);
  }

  private async refresh(): Promise<void> {
    try {
      const { templates } = await this.ctx.api.get<{ templates: TemplateInfo[] }>('/templates');
      const base = this.baseSel.value;
      clear(this.baseSel);
      for (const t of templates.filter((x) => x.builtin))
        append(this.baseSel, h('option', { attrs: { value: t.name } }, t.name));
      this.baseSel.value = base;
      clear(this.list);
      append(
        this.list,
        table(
          ['Name', 'Image', 'Size', 'Languages', 'Memory', 'Timeout', 'Kind', ''],
          templates.map((t) => [
            h('strong', {}, t.name),
            h('span', { class: `badge ${t.image_status}` }, t.image_status),
            bytes(t.image_size),
            t.languages.join(', '),
            t.memory_limit,
            `${t.timeout} s`,
            t.builtin ? 'built-in' : `custom${t.tenant_id ? ` (${t.tenant_id})` : ''}`,
            h(
              'span',
              { class: 'actions' },
              t.builtin ? null : button('Build log', () => this.watch(t.name)),
              t.builtin ? null : button('Delete', () => void this.remove(t.name), 'danger'),
            ),
          ]),
        ),
      );
    } catch (err) {
      this.message.textContent = messageOf(err);
    }
  }

  private async register(body: Record<string, unknown>): Promise<void> {
    try {
      await this.ctx.api.json('POST', '/templates', body);
      this.message.textContent = `template ${String(body.name)} registered; its image is building`;
      this.form.reset();
      await this.refresh();
      this.watch(String(body.name));
    } catch (err) {
      this.message.textContent = err instanceof ApiError ? `${err.code}: ${err.message}` : String(err);
    }
  }

  private async remove(name: string): Promise<void> {
    if (!window.confirm(`Remove template ${name}?`)) return;
    try {
      await this.ctx.api.json('DELETE', `/templates/${encodeURIComponent(name)}`);
      await this.refresh();
    } catch (err) {
      this.message.textContent = messageOf(err);
    }
  }

  /**
   * The build log while the image builds: the runner keeps the last lines of the build in
   * progress (and, once done, of how it ended) and GET /templates/{name} shows them, read here
   * once a second until the build ends.
   */
  private watch(name: string): void {
    window.clearTimeout(this.watching);
    clear(this.buildLog);
    this.buildStatus.textContent = `${name}: waiting for the build…`;
    const shown: string[] = [];
    const tick = async () => {
      try {
        const { template } = await this.ctx.api.get<{ template: TemplateInfo }>(
          `/templates/${encodeURIComponent(name)}`,
        );
        const log = template.build_log ?? [];
        // The log is a moving tail: append what follows the last line already shown.
        let from = 0;
        for (let k = Math.min(shown.length, log.length); k > 0; k--) {
          if (shown.slice(-k).join('\n') === log.slice(0, k).join('\n')) {
            from = k;
            break;
          }
        }
        for (const line of log.slice(from)) {
          shown.push(line);
          append(this.buildLog, `${line}\n`);
        }
        this.buildStatus.textContent = `${name}: ${template.image_status} · ${shown.length} log lines`;
        this.buildStatus.dataset.state = template.image_status;
        if (template.image_status === 'failed') {
          this.buildStatus.textContent += ` · ${template.build_error ?? 'failed'}`;
          void this.refresh();
          return;
        }
        if (template.image_status === 'ready') {
          void this.refresh();
          return;
        }
      } catch (err) {
        this.buildStatus.textContent = messageOf(err);
      }
      this.watching = window.setTimeout(() => void tick(), 1000);
    };
    void tick();
  }
}
