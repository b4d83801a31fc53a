import type { RichResult, RunResult } from './api';
import { chartFromData } from './chart';
import { append, h, type Child } from './dom';

const CHART = 'application/vnd.executor.chart+json';
const B64 = /^[A-Za-z0-9+/=\s]*$/;

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** UTF-8 text as base64, for an SVG's data URL. */
function utf8Base64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/**
 * One MIME bundle, rendered without ever parsing sandbox output as HTML in this document:
 * images as <img> from data URLs (an SVG in an <img> runs no script), HTML in a `sandbox=""`
 * frame (no scripts, no navigation, an opaque origin), JSON and text as text.
 */
export function renderResult(r: RichResult): HTMLElement {
  const d = r.data;
  const out = h('div', { class: `result${r.is_main_result ? ' main' : ''}` });
  const png = str(d['image/png']);
  const jpeg = str(d['image/jpeg']);
  const svg = str(d['image/svg+xml']);
  const html = str(d['text/html']);
  if (png && B64.test(png)) {
    append(
      out,
      h('img', { attrs: { src: `data:image/png;base64,${png}`, alt: str(d['text/plain']) ?? 'figure' } }),
    );
  } else if (jpeg && B64.test(jpeg)) {
    append(out, h('img', { attrs: { src: `data:image/jpeg;base64,${jpeg}`, alt: 'image' } }));
  } else if (svg) {
    append(
      out,
      h('img', { attrs: { src: `data:image/svg+xml;base64,${utf8Base64(svg)}`, alt: 'SVG image' } }),
    );
  } else if (html) {
    const frame = h('iframe', {
      class: 'html-result',
      attrs: { sandbox: '', title: 'HTML result', referrerpolicy: 'no-referrer' },
    });
    frame.srcdoc = html;
    append(out, frame);
  } else if (d['application/json'] !== undefined) {
    append(out, h('pre', { class: 'json' }, JSON.stringify(d['application/json'], null, 2)));
  } else if (str(d['text/plain']) !== undefined) {
    append(out, h('pre', { class: 'text' }, str(d['text/plain'])));
  } else {
    append(out, h('pre', { class: 'text' }, `(${Object.keys(d).join(', ')})`));
  }
  const chart = d[CHART];
  if (chart && typeof chart === 'object') {
    const drawn = chartFromData(chart);
    if (drawn) append(out, drawn);
  }
  return out;
}

export function flags(r: RunResult): string[] {
  return [
    r.timed_out && 'timed_out',
    r.oom_killed && 'oom_killed',
    r.truncated && 'truncated',
    r.state_lost && 'state_lost',
  ].filter((f): f is string => typeof f === 'string');
}

export function renderError(r: RunResult): Child {
  if (!r.error) return null;
  return h(
    'div',
    { class: 'run-error', attrs: { role: 'alert' } },
    h('strong', {}, `${r.error.name}: ${r.error.value}`),
    r.error.traceback ? h('pre', { class: 'traceback' }, r.error.traceback) : null,
  );
}
