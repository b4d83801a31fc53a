#!/usr/bin/env node
/**
 * Bundles the web console (apps/console) into dist/console with esbuild: one script and one
 * style sheet named by their content hash (cached for good), and index.html naming them, with
 * the placeholder the API fills with each page's CSP nonce. Nothing is fetched at run time.
 *
 *   node scripts/build-console.js        (npm run build runs it)
 */
const { build } = require('esbuild');
const { mkdirSync, readFileSync, rmSync, writeFileSync } = require('node:fs');
const { basename, join } = require('node:path');

const ROOT = join(__dirname, '..');
const SRC = join(ROOT, 'apps', 'console');
const OUT = join(ROOT, 'dist', 'console');

async function main() {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const result = await build({
    entryPoints: { app: join(SRC, 'src', 'main.ts') },
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: ['es2022'],
    minify: true,
    legalComments: 'none',
    entryNames: '[name]-[hash]',
    outdir: OUT,
    metafile: true,
    logLevel: 'warning',
  });
  const outputs = Object.keys(result.metafile.outputs).map((p) => basename(p));
  const js = outputs.find((f) => f.endsWith('.js'));
  const css = outputs.find((f) => f.endsWith('.css'));
  if (!js || !css) throw new Error(`esbuild gave ${outputs.join(', ')}: expected a .js and a .css`);
  const page = readFileSync(join(SRC, 'index.html'), 'utf8')
    .replace('__APP_JS__', js)
    .replace('__APP_CSS__', css);
  writeFileSync(join(OUT, 'index.html'), page);
  const size = (f) => `${f} ${(readFileSync(join(OUT, f)).length / 1024).toFixed(0)} KiB`;
  console.log(`console: ${[js, css].map(size).join(', ')}`);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
