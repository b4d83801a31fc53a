/**
 * A custom template: Node.js plus an npm package, built once and reused.
 *
 *   npm run example -- custom-template
 */
import { Executor } from '@executor/sdk';
import { runIfMain } from './lib/run-main';

export async function main(name = 'example-is-number'): Promise<{ status: string; output: string }> {
  const executor = new Executor();
  const existing = (await executor.templates.list()).find((t) => t.name === name);
  if (!existing)
    await executor.templates.register({ name, base: 'node-basic', packages: { npm: ['is-number@7.0.0'] } });
  for (let i = 0; i < 180; i++) {
    const t = await executor.templates.get(name);
    if (t.image_status === 'ready') break;
    if (t.image_status === 'failed') throw new Error(`build failed: ${t.build_error}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  const result = await executor.execute(
    'const isNumber = require("is-number"); console.log(isNumber(42), isNumber("x"))',
    { template: name, language: 'javascript' },
  );
  return { status: result.status, output: result.stdout.trim() };
}

runIfMain(module, main);
