import {
  KERNEL_KINDS,
  KERNEL_LANGUAGES,
  NAME_PATTERN,
  parseMemory,
  type KernelKind,
  type TemplateSpec,
} from '@executor/contracts';

const KNOWN_LANGUAGES = ['python', 'javascript', 'typescript', 'bash'];

/**
 * Validates a template manifest and turns it into a TemplateSpec. Pure: every problem is
 * named with its field so a bad manifest is refused with a clear reason.
 */
export function parseManifest(raw: unknown, imageRepository = 'executor'): TemplateSpec {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new Error('manifest must be an object');
  const m = raw as Record<string, unknown>;
  const problems: string[] = [];
  const str = (k: string) => (typeof m[k] === 'string' ? m[k] : (problems.push(`${k} must be a string`), ''));
  const name = str('name');
  if (name && !NAME_PATTERN.test(name)) problems.push('name must be lowercase letters, digits and -');
  const description = str('description');
  const memory = str('memory_limit');
  if (memory && parseMemory(memory) === null) problems.push('memory_limit must look like 512m or 2g');
  const languages = Array.isArray(m.languages) ? m.languages : [];
  if (
    languages.length === 0 ||
    !languages.every((l) => typeof l === 'string' && KNOWN_LANGUAGES.includes(l))
  ) {
    problems.push(`languages must be a non-empty list of ${KNOWN_LANGUAGES.join(', ')}`);
  }
  const cpu = m.cpu_limit;
  if (typeof cpu !== 'number' || !(cpu > 0 && cpu <= 64))
    problems.push('cpu_limit must be a number of CPUs (0-64]');
  const timeout = m.timeout;
  if (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 1 || timeout > 3600) {
    problems.push('timeout must be whole seconds from 1 to 3600');
  }
  const pids = m.pids_limit ?? 128;
  if (typeof pids !== 'number' || !Number.isInteger(pids) || pids < 8 || pids > 4096) {
    problems.push('pids_limit must be a whole number from 8 to 4096');
  }
  if (typeof m.network !== 'boolean') problems.push('network must be true or false');
  const env = m.env ?? {};
  if (typeof env !== 'object' || env === null || Object.values(env).some((v) => typeof v !== 'string')) {
    problems.push('env must map names to strings');
  }
  const packages = m.packages ?? {};
  if (
    typeof packages !== 'object' ||
    packages === null ||
    Object.values(packages).some((v) => !Array.isArray(v) || v.some((p) => typeof p !== 'string'))
  ) {
    problems.push('packages must map a source (apt, pip, npm) to a list of names');
  }
  const kernel = m.kernel ?? 'python';
  const contextKernels: unknown = m.context_kernels ?? [];
  if (
    !Array.isArray(contextKernels) ||
    contextKernels.some(
      (k: unknown) => typeof k !== 'string' || !(KERNEL_KINDS as readonly string[]).includes(k),
    )
  ) {
    problems.push(`context_kernels must be a list of ${KERNEL_KINDS.join(', ')}`);
  }
  if (typeof kernel !== 'string' || !(KERNEL_KINDS as readonly string[]).includes(kernel)) {
    problems.push(`kernel must be one of ${KERNEL_KINDS.join(', ')}`);
  } else {
    const kinds = [
      kernel,
      ...(Array.isArray(contextKernels) ? (contextKernels as string[]) : []),
    ] as KernelKind[];
    const runs = kinds.flatMap((k) => KERNEL_LANGUAGES[k] ?? []);
    const unsupported = languages.filter((l) => typeof l === 'string' && !runs.includes(l));
    if (unsupported.length > 0)
      problems.push(`languages: the ${kernel} kernel does not run ${unsupported.join(', ')}`);
  }
  const preload = m.preload ?? [];
  if (!Array.isArray(preload) || preload.some((p) => typeof p !== 'string' || !/^[A-Za-z_][\w.]*$/.test(p))) {
    problems.push('preload must be a list of module names');
  }
  const missing = m.packages_missing ?? [];
  if (!Array.isArray(missing) || missing.some((p) => typeof p !== 'string')) {
    problems.push('packages_missing must be a list of strings');
  }
  if (m.build !== undefined && m.build !== 'always' && m.build !== 'on-demand') {
    problems.push('build must be always or on-demand');
  }
  if (m.runtime !== undefined && m.runtime !== 'runsc' && m.runtime !== 'runc') {
    problems.push('runtime must be runc or runsc');
  }
  if (problems.length > 0) throw new Error(problems.join('; '));
  return {
    name,
    description,
    image: `${imageRepository}/${name}:latest`,
    languages: languages as string[],
    memory_limit: memory,
    cpu_limit: cpu as number,
    timeout: timeout as number,
    network: m.network as boolean,
    pids_limit: pids as number,
    env: env as Record<string, string>,
    packages: packages as Record<string, string[]>,
    kernel: kernel as KernelKind,
    ...(Array.isArray(contextKernels) && contextKernels.length > 0
      ? { context_kernels: contextKernels as KernelKind[] }
      : {}),
    preload: preload as string[],
    packages_missing: missing as string[],
    build: { kind: 'builtin', template: name },
    builtin: true,
    ...(m.runtime === 'runsc' ? { runtime: 'runsc' } : {}),
  };
}
