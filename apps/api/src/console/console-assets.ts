import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.map': 'application/json; charset=utf-8',
};

/** The nonce placeholder scripts/build-console.js leaves in index.html. */
export const NONCE_PLACEHOLDER = '__CSP_NONCE__';

export interface ConsoleAsset {
  body: Buffer;
  type: string;
  etag: string;
  /** Named by its content hash: cached for good. */
  immutable: boolean;
}

/**
 * The console's built files (dist/console), read once at start into a map by name. A request
 * can only ever get one of these: names are looked up, never joined onto a path, so there is
 * no directory to traverse.
 */
export class ConsoleAssets {
  private readonly files = new Map<string, ConsoleAsset>();

  constructor(readonly dir: string) {
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const type = TYPES[extname(name)];
      if (!type || !statSync(path).isFile()) continue;
      const body = readFileSync(path);
      this.files.set(name, {
        body,
        type,
        etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
        immutable: /-[A-Z0-9]{8,}\.(js|css)$/.test(name),
      });
    }
  }

  get built(): boolean {
    return this.files.has('index.html');
  }

  get(name: string): ConsoleAsset | undefined {
    return name === 'index.html' ? undefined : this.files.get(name);
  }

  /** The page, with this response's nonce for the styles the editor injects. */
  index(nonce: string): Buffer | undefined {
    const page = this.files.get('index.html');
    return page && Buffer.from(page.body.toString('utf8').split(NONCE_PLACEHOLDER).join(nonce));
  }
}

/**
 * The console's Content-Security-Policy: scripts and styles from this origin only (plus the
 * nonce of this page for the editor's injected style sheets), no inline scripts, images from
 * here or data/blob URLs (a run's figures), requests to this API only, nothing may frame it,
 * and HTML results render in `sandbox=""` srcdoc frames, which cannot run scripts or navigate.
 */
export function consoleCsp(nonce: string): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    `style-src 'self' 'nonce-${nonce}'`,
    "img-src 'self' data: blob:",
    "font-src 'self'",
    "connect-src 'self'",
    "frame-src 'none'",
    "child-src 'none'",
    "worker-src 'none'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}
