import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConsoleAssets, consoleCsp, NONCE_PLACEHOLDER } from './console-assets';

describe('ConsoleAssets', () => {
  let dir: string;
  let outside: string;
  beforeAll(() => {
    outside = mkdtempSync(join(tmpdir(), 'console-assets-'));
    dir = join(outside, 'console');
    mkdirSync(join(dir, 'sub'), { recursive: true });
    writeFileSync(join(dir, 'index.html'), `<meta name="csp-nonce" content="${NONCE_PLACEHOLDER}">`);
    writeFileSync(join(dir, 'app-ABCDEFGH.js'), 'console.log(1)');
    writeFileSync(join(dir, 'notes.txt'), 'not a console file type');
    writeFileSync(join(dir, 'sub', 'inner.js'), 'x');
    writeFileSync(join(outside, 'secret.js'), 'secret');
  });
  afterAll(() => rmSync(outside, { recursive: true, force: true }));

  it('serves the files of its folder by name only: no path, no other type, no folder below', () => {
    const assets = new ConsoleAssets(dir);
    expect(assets.built).toBe(true);
    const js = assets.get('app-ABCDEFGH.js');
    expect(js?.type).toBe('text/javascript; charset=utf-8');
    expect(js?.immutable).toBe(true);
    expect(js?.etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    for (const name of [
      '../secret.js',
      '..%2Fsecret.js',
      'sub/inner.js',
      'sub',
      'notes.txt',
      'index.html',
      '',
    ])
      expect({ name, asset: assets.get(name) }).toEqual({ name, asset: undefined });
  });

  it("puts each page's nonce where the build left the placeholder", () => {
    const page = new ConsoleAssets(dir).index('n0nce');
    expect(page?.toString()).toBe('<meta name="csp-nonce" content="n0nce">');
  });

  it('is empty, not failing, when the console is not built', () => {
    const assets = new ConsoleAssets(join(outside, 'missing'));
    expect(assets.built).toBe(false);
    expect(assets.index('n')).toBeUndefined();
  });

  it('allows scripts from its own origin only and no framing', () => {
    const csp = consoleCsp('abc');
    expect(csp).toContain("script-src 'self';");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(csp).toContain("style-src 'self' 'nonce-abc'");
    expect(csp).toContain("frame-ancestors 'none'");
  });
});
