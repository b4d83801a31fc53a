import 'uplot/dist/uPlot.min.css';
import './console.css';
import { Api } from './api';
import { append, button, clear, field, h } from './dom';
import type { Ctx, View } from './view';
import { EventsView } from './views/events';
import { MetricsView } from './views/metrics';
import { PlaygroundView } from './views/playground';
import { SessionsView } from './views/sessions';
import { TemplatesView } from './views/templates';

/** The console: a key entered once, five views behind a hash router (#/playground, …). */
function start(): void {
  const root = document.getElementById('app');
  if (!root) return;
  const nonce = document.querySelector<HTMLMetaElement>('meta[name="csp-nonce"]')?.content ?? '';
  const api = new Api();
  const ctx: Ctx = {
    api,
    nonce,
    go: (view, params = {}) => {
      const q = new URLSearchParams(params).toString();
      location.hash = `#/${view}${q ? `?${q}` : ''}`;
    },
  };
  const views: View[] = [
    new PlaygroundView(ctx),
    new SessionsView(ctx),
    new TemplatesView(ctx),
    new EventsView(ctx),
    new MetricsView(ctx),
  ];

  const keyIn = h('input', {
    attrs: { type: 'password', autocomplete: 'off', placeholder: 'none with keys off' },
  });
  keyIn.value = api.key;
  const tenantIn = h('input', { attrs: { type: 'text' } });
  tenantIn.value = api.tenant;
  const who = h('span', { id: 'who', class: 'status', attrs: { 'aria-live': 'polite' } });
  const nav = h('nav', { attrs: { 'aria-label': 'Views' } });
  const main = h('main', { id: 'main', attrs: { tabindex: '-1' } });
  const tenantField = field('Tenant', tenantIn, 'tenant');
  const keyForm = h(
    'form',
    {
      class: 'key',
      on: {
        submit: (ev) => {
          ev.preventDefault();
          api.key = keyIn.value.trim();
          api.tenant = tenantIn.value.trim() || 'console';
          void identify().then(route);
        },
      },
    },
    field('API key', keyIn, 'api-key'),
    tenantField,
    h('button', { attrs: { type: 'submit' }, id: 'save-key' }, 'Use'),
    button('Forget', () => {
      api.key = '';
      keyIn.value = '';
      void identify().then(route);
    }),
  );
  append(root, h('header', {}, h('h1', {}, 'Executor'), nav, keyForm, who), main);
  for (const v of views) {
    v.el.hidden = true;
    append(main, v.el);
  }

  let current: View | null = null;
  const route = () => {
    const [name, query] = location.hash.replace(/^#\/?/, '').split('?');
    const view = views.find((v) => v.id === name) ?? views[0];
    if (view !== current) {
      current?.deactivate();
      if (current) current.el.hidden = true;
      current = view;
      view.el.hidden = false;
    }
    for (const a of nav.querySelectorAll('a')) {
      if (a.dataset.view === view.id) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    document.title = `${view.title} · Executor`;
    if (api.role !== 'unauthenticated') view.activate(new URLSearchParams(query ?? ''));
  };

  const identify = async () => {
    try {
      await api.probe();
    } catch {
      api.role = 'unauthenticated';
    }
    const labels = {
      admin: 'admin key',
      tenant: 'tenant key (its own tenant only)',
      open: 'no keys (loopback)',
      unauthenticated: 'an API key is needed',
    };
    who.textContent = labels[api.role];
    tenantField.hidden = api.role === 'tenant';
    clear(nav);
    for (const v of views) {
      if (v.adminOnly && !api.isAdmin) continue;
      append(nav, h('a', { attrs: { href: `#/${v.id}`, 'data-view': v.id } }, v.title));
    }
    // A view shown before the key was known activates now.
    if (current) {
      current.deactivate();
      current.el.hidden = true;
    }
    current = null;
  };

  window.addEventListener('hashchange', route);
  void identify().then(route);
}

start();
