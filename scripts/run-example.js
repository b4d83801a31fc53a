#!/usr/bin/env node
// `npm run example -- <name>`: builds if needed and runs examples/<name>.ts against the running
// stack (EXECUTOR_URL, default http://127.0.0.1:8080; EXECUTOR_API_KEY when keys are on).
'use strict';
const { execSync } = require('node:child_process');
const { existsSync, readdirSync } = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');

const root = path.resolve(__dirname, '..');
let name;
try {
  [name] = parseArgs({ options: {}, allowPositionals: true }).positionals;
} catch (err) {
  console.error(err.message);
}
const names = readdirSync(path.join(root, 'examples'))
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.slice(0, -3));
if (!name || !names.includes(name)) {
  console.error(`usage: npm run example -- <${names.join('|')}>`);
  process.exit(2);
}
const built = path.join(root, 'dist', 'examples', `${name}.js`);
if (!existsSync(built)) execSync('npm run --silent build', { cwd: root, stdio: 'inherit' });
execSync(`node ${JSON.stringify(built)}`, { cwd: root, stdio: 'inherit' });
