import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KernelKind } from '@executor/contracts';
import { findRepoRoot } from '@executor/common';

const KERNELS_DIR = join(findRepoRoot(__dirname), 'apps', 'runner', 'kernels');

let python: Buffer | undefined;
let node: string | undefined;

/**
 * The command that starts a kernel inside a sandbox. Template images need nothing of ours: the
 * Node kernel's source is the command line; the Python kernel's command is a small boot program
 * that reads its program from stdin (kernelProgram), which the runner writes before anything else.
 */
export function kernelCommand(kind: KernelKind): string[] {
  if (kind === 'node') {
    node ??= readFileSync(join(KERNELS_DIR, 'node_kernel.js'), 'utf8');
    // --expose-internals: the kernel uses the REPL's own top-level-await rewrite and parser.
    return ['node', '--expose-internals', '-e', node];
  }
  return ['python3', '-u', '-c', PYTHON_BOOT];
}

/**
 * What the runner writes on a kernel's stdin before its first request, or undefined when the
 * command carries the whole kernel. Python's program comes this way rather than on the command
 * line because argv stays resident in every idle sandbox: CPython keeps argv and orig_argv as
 * wide strings (4 bytes a character) for its whole life, and the engine keeps the command in
 * every container's config, so ~60 KB of source cost each idle kernel ~0.9 MiB.
 */
export function kernelProgram(kind: KernelKind): Buffer | undefined {
  if (kind === 'node') return undefined;
  python ??= framedParts(programParts(pythonProgram()));
  return python;
}

/** Parts as the boot program reads them: their sizes in bytes on one line, then the parts. */
export function framedParts(parts: string[]): Buffer {
  const bytes = parts.map((p) => Buffer.from(p, 'utf8'));
  return Buffer.concat([Buffer.from(`${bytes.map((b) => b.length).join(' ')}\n`), ...bytes]);
}

/**
 * Reads the program's parts from fd 0 (unbuffered, exactly their bytes: what follows are the
 * kernel's requests) and compiles them one by one, each with its own line numbers. CPython's
 * compiler holds the whole tree of what it compiles and the allocator keeps most of that peak
 * after it is freed: one compile of the ~90 KB program leaves an idle kernel ~2.5 MiB larger
 * than compiling it in ~8 KB parts (the last part ends by running `main()`).
 */
export const PYTHON_BOOT = [
  'import os',
  'def _kernel_read(n):',
  "    got = b''",
  '    while len(got) < n:',
  '        chunk = os.read(0, n - len(got))',
  '        if not chunk:',
  "            raise SystemExit('executor: the kernel program was cut short')",
  '        got += chunk',
  '    return got',
  "_kernel_head = b''",
  "while not _kernel_head.endswith(b'\\n') and len(_kernel_head) < 4096:",
  '    _kernel_head += _kernel_read(1)',
  '_kernel_line = 0',
  'for _kernel_size in map(int, _kernel_head.split()):',
  '    _kernel_part = _kernel_read(_kernel_size).decode()',
  "    _kernel_code = compile('\\n' * _kernel_line + _kernel_part, '<string>', 'exec')",
  "    _kernel_line += _kernel_part.count('\\n')",
  '    del _kernel_part',
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
