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
  return ['python3', '-u', '-c', python];
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
