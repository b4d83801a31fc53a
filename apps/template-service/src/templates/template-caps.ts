import { parseMemory, type TemplateSpec } from '@executor/contracts';

/** The limits of a template that operator caps bound. */
export type TemplateLimits = Pick<TemplateSpec, 'memory_limit' | 'cpu_limit' | 'pids_limit' | 'timeout'>;
type LimitField = keyof TemplateLimits;

/** Operator caps, from MAX_TEMPLATE_MEMORY, MAX_TEMPLATE_CPUS, MAX_TEMPLATE_PIDS and MAX_TIMEOUT_S. */
export interface TemplateCaps {
  memory: string;
  cpus: number;
  pids: number;
  timeoutS: number;
}

/** The setting that caps each field: named in every refusal and every clamp. */
export const CAP_SETTINGS: Record<LimitField, string> = {
  memory_limit: 'MAX_TEMPLATE_MEMORY',
  cpu_limit: 'MAX_TEMPLATE_CPUS',
  pids_limit: 'MAX_TEMPLATE_PIDS',
  timeout: 'MAX_TIMEOUT_S',
};

/** Below this Docker refuses to start a container or the kernel cannot load: bad input, not a 500. */
export const MIN_MEMORY = '64m';

export function capsOf(config: {
  MAX_TEMPLATE_MEMORY: string;
  MAX_TEMPLATE_CPUS: number;
  MAX_TEMPLATE_PIDS: number;
  MAX_TIMEOUT_S: number;
}): TemplateCaps {
  return {
    memory: config.MAX_TEMPLATE_MEMORY.toLowerCase(),
    cpus: config.MAX_TEMPLATE_CPUS,
    pids: config.MAX_TEMPLATE_PIDS,
    timeoutS: config.MAX_TIMEOUT_S,
  };
}

/** Each field over its cap, with the cap's value (in the field's own units). */
function overCaps(limits: Partial<TemplateLimits>, caps: TemplateCaps): Array<[LimitField, string | number]> {
  const over: Array<[LimitField, string | number]> = [];
  if (limits.memory_limit !== undefined) {
    const bytes = parseMemory(limits.memory_limit);
    if (bytes !== null && bytes > parseMemory(caps.memory)!) over.push(['memory_limit', caps.memory]);
  }
  if (limits.cpu_limit !== undefined && limits.cpu_limit > caps.cpus) over.push(['cpu_limit', caps.cpus]);
  if (limits.pids_limit !== undefined && limits.pids_limit > caps.pids) over.push(['pids_limit', caps.pids]);
  if (limits.timeout !== undefined && limits.timeout > caps.timeoutS) over.push(['timeout', caps.timeoutS]);
  return over;
}

/**
 * Why limits a caller asked for cannot be had: one line per field, naming the field and the
 * cap (`memory_limit: 99999g is over the cap MAX_TEMPLATE_MEMORY=4g`). Empty when all fit.
 */
export function capProblems(limits: Partial<TemplateLimits>, caps: TemplateCaps): string[] {
  const problems = overCaps(limits, caps).map(
    ([field, cap]) => `${field}: ${String(limits[field])} is over the cap ${CAP_SETTINGS[field]}=${cap}`,
  );
  if (limits.memory_limit !== undefined) {
    const bytes = parseMemory(limits.memory_limit);
    if (bytes === null) problems.push('memory_limit must look like 512m or 2g');
    else if (bytes < parseMemory(MIN_MEMORY)!)
      problems.push(`memory_limit: ${limits.memory_limit} is under the minimum of ${MIN_MEMORY}`);
  }
  return problems;
}

/** Limits held to the caps, and a line for each one that was lowered. */
export function clampToCaps<T extends TemplateLimits>(
  limits: T,
  caps: TemplateCaps,
): { limits: T; clamped: string[] } {
  const over = overCaps(limits, caps);
  const capped = (field: LimitField) => over.some(([f]) => f === field);
  const out: T = {
    ...limits,
    memory_limit: capped('memory_limit') ? caps.memory : limits.memory_limit,
    cpu_limit: capped('cpu_limit') ? caps.cpus : limits.cpu_limit,
    pids_limit: capped('pids_limit') ? caps.pids : limits.pids_limit,
    timeout: capped('timeout') ? caps.timeoutS : limits.timeout,
  };
  const clamped = over.map(
    ([field, cap]) => `${field} ${String(limits[field])} lowered to ${CAP_SETTINGS[field]}=${cap}`,
  );
  return { limits: out, clamped };
}
