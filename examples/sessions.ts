/**
 * Sessions: state that lives across calls, in Python and in JavaScript.
 *
 *   npm run example -- sessions
 */
import { Sandbox } from '@executor/sdk';
import { runIfMain } from './lib/run-main';

export async function main(): Promise<{ python: string; javascript: string }> {
  const py = await Sandbox.create({ template: 'default', ttl: 120 });
  const js = await Sandbox.create({ template: 'node-basic', ttl: 120 });
  try {
    await py.runCode('counter = 40\ndef bump():\n    global counter\n    counter += 1\n    return counter');
    await py.runCode('bump()');
    const python = (await py.runCode('bump()')).results[0]?.data['text/plain'];
    await js.runCode('let total = 0; const add = (n) => (total += n);', { language: 'javascript' });
    await js.runCode('add(20)', { language: 'javascript' });
    const javascript = (await js.runCode('add(22)', { language: 'javascript' })).results[0]?.data[
      'text/plain'
    ];
    return { python: python as string, javascript: javascript as string };
  } finally {
    await Promise.all([py.kill(), js.kill()]);
  }
}

runIfMain(module, main);
