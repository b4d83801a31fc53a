/**
 * A tiny element builder. Text only ever goes in as text nodes (textContent): nothing a
 * sandbox or the API sends is parsed as HTML in the console's own document.
 */
export type Child = Node | string | number | null | undefined | false;

export interface Props {
  class?: string;
  id?: string;
  attrs?: Record<string, string>;
  on?: { [K in keyof HTMLElementEventMap]?: (ev: HTMLElementEventMap[K]) => void };
}

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props.class) el.className = props.class;
  if (props.id) el.id = props.id;
  for (const [k, v] of Object.entries(props.attrs ?? {})) el.setAttribute(k, v);
  for (const [type, fn] of Object.entries(props.on ?? {})) el.addEventListener(type, fn as EventListener);
  append(el, ...children);
  return el;
}

export function append(el: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

export function clear(el: Node): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

/** A labelled control: the label names the input for screen readers and clicks. */
export function field(label: string, control: HTMLElement, id: string): HTMLElement {
  control.id = id;
  return h('div', { class: 'field' }, h('label', { attrs: { for: id } }, label), control);
}

export function select(options: Array<[value: string, label: string]>, value?: string): HTMLSelectElement {
  const el = h('select');
  for (const [v, l] of options) el.appendChild(h('option', { attrs: { value: v } }, l));
  if (value !== undefined) el.value = value;
  return el;
}

export function button(label: string, onClick: () => void, cls = ''): HTMLButtonElement {
  return h('button', { class: cls, attrs: { type: 'button' }, on: { click: () => onClick() } }, label);
}

/** A table in a scroller of its own, so a wide one never widens the page. */
export function table(head: string[], rows: Child[][]): HTMLElement {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      {},
      h('thead', {}, h('tr', {}, ...head.map((c) => h('th', { attrs: { scope: 'col' } }, c)))),
      h('tbody', {}, ...rows.map((r) => h('tr', {}, ...r.map((c) => h('td', {}, c))))),
    ),
  );
}

export function bytes(n: number | undefined): string {
  if (n === undefined) return '';
  const units = ['B', 'KB', 'MB', 'GB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

export function when(iso: string | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

/** Base64 of bytes, and back, for files and figures. */
export function toBase64(data: Uint8Array): string {
  let s = '';
  for (let i = 0; i < data.length; i += 0x8000) s += String.fromCharCode(...data.subarray(i, i + 0x8000));
  return btoa(s);
}

export function fromBase64(b64: string): Uint8Array {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** Offers bytes as a download (a blob URL the browser saves; never rendered here). */
export function download(name: string, data: Uint8Array, type = 'application/octet-stream'): void {
  const url = URL.createObjectURL(new Blob([data as BlobPart], { type }));
  const a = h('a', { attrs: { href: url, download: name.split('/').pop() ?? 'file' } });
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/** What an error says to a person. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A panel whose content could not be loaded: the error in its place. */
export function showError(into: HTMLElement, err: unknown): void {
  clear(into);
  append(into, h('p', { class: 'status' }, messageOf(err)));
}

/** A line whose changes screen readers announce: a view's messages, a run's or a build's status. */
export function statusLine(id?: string): HTMLParagraphElement {
  return h('p', { id, class: 'status', attrs: { 'aria-live': 'polite' } });
}

/** Text that grows as it streams in (stdout, stderr, a build log), named for screen readers. */
export function streamBox(id: string, label: string, kind?: string): HTMLPreElement {
  return h('pre', { id, class: kind ? `stream ${kind}` : 'stream', attrs: { 'aria-label': label } });
}

/** A view's root: a section named `label` for screen readers. */
export function viewSection(label: string, ...children: Child[]): HTMLElement {
  return h('section', { class: 'view', attrs: { 'aria-label': label } }, ...children);
}

/** The heading of a view that lists something, with the button that lists it again. */
export function listHeading(title: string, refresh: () => void): HTMLElement {
  return h('div', { class: 'row' }, h('h2', {}, title), button('Refresh', refresh));
}

/** A row of labelled controls (see field). */
export function controls(...children: Child[]): HTMLElement {
  return h('div', { class: 'controls' }, ...children);
}
