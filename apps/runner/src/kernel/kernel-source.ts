import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KernelKind } from '@executor/contracts';
import { findRepoRoot } from '@executor/common';

const KERNELS_DIR = join(findRepoRoot(__dirname), 'apps', 'runner', 'kernels');

let python: string | undefined;
let node: string | undefined;

/**
 * The command that starts a kernel inside a sandbox. The kernel's source is passed on the
 * command line, so template images need nothing of ours and a kernel change needs no rebuild.
 */
export function kernelCommand(kind: KernelKind): string[] {
  if (kind === 'node') {
    node ??= readFileSync(join(KERNELS_DIR, 'node_kernel.js'), 'utf8');
    // --expose-internals: the kernel uses the REPL's own top-level-await rewrite and parser.
    return ['node', '--expose-internals', '-e', node];
  }
  python ??= pythonProgram();
  return ['python3', '-u', '-c', PYTHON_BOOT, ...programParts(python)];
}

/**
 * Compiles the kernel's parts one by one, each with its own line numbers. CPython's compiler
 * holds the whole tree of what it compiles and the allocator keeps most of that peak after it
 * is freed: one compile of the ~90 KB program leaves an idle kernel ~2.5 MiB larger than
 * compiling it in ~8 KB parts. The parts are the command's further arguments, taken out of
 * `sys.argv` before anything runs (the last part ends by running `main()`).
 */
export const PYTHON_BOOT = [
  'import sys',
  '_kernel_parts, sys.argv[1:] = sys.argv[1:], []',
  '_kernel_line = 0',
  'for _kernel_part in _kernel_parts:',
  "    _kernel_code = compile('\\n' * _kernel_line + _kernel_part, '<string>', 'exec')",
  "    _kernel_line += _kernel_part.count('\\n')",
  '    exec(_kernel_code)',
].join('\n');

/** About how large one part is: past ~8 KB the compiler's leftovers grow again. */
export const PART_BYTES = 8 * 1024;

/**
 * The program cut at top-level `def`, `class` and decorator lines (outside triple-quoted
 * strings), the pieces joined again into parts of about PART_BYTES. The parts joined are the
 * program, and each one is whole statements.
 */
export function programParts(program: string, partBytes = PART_BYTES): string[] {
  const lines = program.split('\n');
  const parts: string[] = [];
  let current: string[] = [];
  let size = 0;
  let inString: string | undefined;
  let decorated = false;
  for (const line of lines) {
    const boundary = inString === undefined && !decorated && /^(def |class |@)/.test(line);
    decorated = line.startsWith('@');
    if (boundary && size >= partBytes && current.length > 0) {
      parts.push(current.join('\n') + '\n');
      current = [];
      size = 0;
    }
    current.push(line);
    size += line.length + 1;
    inString = stringStateAfter(line, inString);
  }
  parts.push(current.join('\n'));
  return parts;
}

/** Whether a triple-quoted string is open after this line (and which quote opened it). */
function stringStateAfter(line: string, open: string | undefined): string | undefined {
  let state = open;
  let i = 0;
  while (i < line.length) {
    if (state === undefined) {
      if (line[i] === '#') return undefined;
      const quote = line.startsWith('"""', i) ? '"""' : line.startsWith("'''", i) ? "'''" : undefined;
      if (quote) {
        state = quote;
        i += 3;
        continue;
      }
      if (line[i] === '"' || line[i] === "'") {
        // A one-line string: skip to its end (escapes included).
        const q = line[i];
        i++;
        while (i < line.length && line[i] !== q) i += line[i] === '\\' ? 2 : 1;
        i++;
        continue;
      }
      i++;
    } else {
      if (line[i] === '\\') {
        i += 2;
        continue;
      }
      if (line.startsWith(state, i)) {
        state = undefined;
        i += 3;
        continue;
      }
      i++;
    }
  }
  return state;
}

/**
 * The Python kernel's one program: `python_rich.py` (charts and DataFrames as data, pure
 * functions the kernel calls) followed by `python_kernel.py`, which ends by running `main()`.
 */
export function pythonProgram(): string {
  const rich = readFileSync(join(KERNELS_DIR, 'python_rich.py'), 'utf8');
  const kernel = readFileSync(join(KERNELS_DIR, 'python_kernel.py'), 'utf8');
  return `${rich}\n${kernel}`;
}
