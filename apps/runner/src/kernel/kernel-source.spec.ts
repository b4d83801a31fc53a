import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findRepoRoot } from '@executor/common';
import { spawnSync } from 'node:child_process';
import {
  framedParts,
  kernelCommand,
  kernelProgram,
  programParts,
  pythonProgram,
  PYTHON_BOOT,
} from './kernel-source';

const KERNELS_DIR = join(findRepoRoot(__dirname), 'apps', 'runner', 'kernels');
const source = (name: string) => readFileSync(join(KERNELS_DIR, name), 'utf8');

/** Names a Python file binds at its top level: functions, classes, assignments, imports. */
function topLevelNames(python: string): Set<string> {
  const names = new Set<string>();
  for (const line of python.split('\n')) {
    const def = /^(?:def|class)\s+(\w+)/.exec(line);
    const assigned = /^(\w+)\s*(?::[^=]*)?=(?!=)/.exec(line);
    const imported = /^import\s+(\w+)(?:\s+as\s+(\w+))?\s*$/.exec(line);
    const from = /^from\s+\S+\s+import\s+(.+)$/.exec(line);
    if (def) names.add(def[1]);
    if (assigned) names.add(assigned[1]);
    if (imported) names.add(imported[2] ?? imported[1]);
    if (from)
      for (const part of from[1].split(','))
        names.add(
          part
            .trim()
            .split(/\s+as\s+/)
            .pop()!,
        );
  }
  return names;
}

describe('the Python kernel program', () => {
  it('is python_rich.py followed by python_kernel.py, sent on stdin in parts to a boot program', () => {
    const program = pythonProgram();
    expect(program.startsWith(source('python_rich.py'))).toBe(true);
    expect(program.endsWith(source('python_kernel.py'))).toBe(true);
    // The command is the boot program only: no source on the command line.
    expect(kernelCommand('python')).toEqual(['python3', '-u', '-c', PYTHON_BOOT]);
    const framed = kernelProgram('python')!;
    const newline = framed.indexOf(0x0a);
    const sizes = framed.subarray(0, newline).toString().split(' ').map(Number);
    expect(sizes.length).toBeGreaterThan(3);
    const parts: string[] = [];
    let at = newline + 1;
    for (const size of sizes) {
      parts.push(framed.subarray(at, at + size).toString('utf8'));
      at += size;
    }
    expect(at).toBe(framed.length);
    expect(parts).toEqual(programParts(program));
    expect(parts.join('')).toBe(program);
    // Each part but the last ends a line, so the next one's line numbers follow on.
    for (const part of parts.slice(0, -1)) expect(part.endsWith('\n')).toBe(true);
  });

  it('frames parts by their size in bytes, not characters', () => {
    const framed = framedParts(['é\n', 'x']);
    expect(framed.toString('utf8')).toBe('3 1\né\nx');
  });

  it('runs the boot program: it reads exactly the framed parts and leaves the rest of stdin', () => {
    const python = spawnSync('python3', ['--version']);
    if (python.status !== 0) return; // a host without python3: the e2e kernels spec runs it in images
    const framed = framedParts(['import sys\na = 1\n', 'sys.stdout.write(str(a) + sys.stdin.read())\n']);
    const run = spawnSync('python3', ['-c', PYTHON_BOOT], {
      input: Buffer.concat([framed, Buffer.from('|rest')]),
    });
    expect(run.stderr.toString()).toBe('');
    expect(run.stdout.toString()).toBe('1|rest');
    const cut = spawnSync('python3', ['-c', PYTHON_BOOT], { input: framed.subarray(0, framed.length - 3) });
    expect(cut.status).not.toBe(0);
    expect(cut.stderr.toString()).toContain('the kernel program was cut short');
  });

  it('leaves the Node kernel on its command line', () => {
    expect(kernelProgram('node')).toBeUndefined();
    expect(kernelCommand('node').slice(0, 3)).toEqual(['node', '--expose-internals', '-e']);
  });

  it('cuts only before top-level definitions, never inside a string or between a decorator and its def', () => {
    const program = [
      'import sys',
      'X = 1',
      'def a():',
      '    return """',
      'def not_a_boundary():',
      '"""',
      "S = 'def inline'  # '''",
      '@decorator',
      'def b():',
      '    pass',
      'class C:',
      "    '''doc",
      'class D: still the string',
      "    '''",
      'def e(): pass',
    ].join('\n');
    const parts = programParts(program, 1);
    expect(parts.join('')).toBe(program);
    expect(parts.map((p) => p.split('\n')[0])).toEqual([
      'import sys',
      'def a():',
      '@decorator',
      'class C:',
      'def e(): pass',
    ]);
  });

  it('shares one namespace: the two files bind no name in common but the modules they import', () => {
    const rich = topLevelNames(source('python_rich.py'));
    const kernel = topLevelNames(source('python_kernel.py'));
    const shared = [...rich].filter((n) => kernel.has(n));
    const modules = new Set(['math', 're', 'sys', 'os', 'json', 'base64', 'datetime', 'numbers']);
    expect(shared.filter((n) => !modules.has(n))).toEqual([]);
    // What the kernel calls is there.
    for (const name of [
      'add_rich_data',
      'add_plotly_chart',
      'register_rich_formatters',
      'watch_image_show',
    ]) {
      expect(rich.has(name)).toBe(true);
    }
  });
});
