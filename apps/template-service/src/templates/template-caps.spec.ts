import { capProblems, capsOf, clampToCaps } from './template-caps';

const caps = capsOf({
  MAX_TEMPLATE_MEMORY: '2G',
  MAX_TEMPLATE_CPUS: 2,
  MAX_TEMPLATE_PIDS: 256,
  MAX_TIMEOUT_S: 300,
});
const atCaps = { memory_limit: '2048m', cpu_limit: 2, pids_limit: 256, timeout: 300 };

describe('capProblems', () => {
  it('accepts limits at the caps, and fields left out', () => {
    expect(capProblems(atCaps, caps)).toEqual([]);
    expect(capProblems({}, caps)).toEqual([]);
  });

  it.each([
    [{ memory_limit: '99999g' }, 'memory_limit: 99999g is over the cap MAX_TEMPLATE_MEMORY=2g'],
    [{ memory_limit: '2049m' }, 'memory_limit: 2049m is over the cap MAX_TEMPLATE_MEMORY=2g'],
    [{ cpu_limit: 2.5 }, 'cpu_limit: 2.5 is over the cap MAX_TEMPLATE_CPUS=2'],
    [{ pids_limit: 257 }, 'pids_limit: 257 is over the cap MAX_TEMPLATE_PIDS=256'],
    [{ timeout: 3600 }, 'timeout: 3600 is over the cap MAX_TIMEOUT_S=300'],
    [{ memory_limit: '8m' }, 'memory_limit: 8m is under the minimum of 64m'],
    [{ memory_limit: '0m' }, 'memory_limit must look like 512m or 2g'],
  ])('names the field and the cap of %j', (limits, problem) => {
    expect(capProblems(limits, caps)).toEqual([problem]);
  });

  it('names every field over its cap at once', () => {
    const all = capProblems({ memory_limit: '3g', cpu_limit: 8, pids_limit: 4096, timeout: 301 }, caps);
    expect(all.map((p) => p.split(':')[0])).toEqual(['memory_limit', 'cpu_limit', 'pids_limit', 'timeout']);
  });
});

describe('clampToCaps', () => {
  it('keeps limits within the caps as they are', () => {
    const spec = { name: 'x', memory_limit: '512m', cpu_limit: 1, pids_limit: 128, timeout: 30 };
    expect(clampToCaps(spec, caps)).toEqual({ limits: spec, clamped: [] });
  });

  it('lowers each limit over its cap to the cap and says so', () => {
    const { limits, clamped } = clampToCaps(
      { name: 'big', memory_limit: '4g', cpu_limit: 4, pids_limit: 1024, timeout: 3600 },
      caps,
    );
    expect(limits).toEqual({ name: 'big', memory_limit: '2g', cpu_limit: 2, pids_limit: 256, timeout: 300 });
    expect(clamped).toEqual([
      'memory_limit 4g lowered to MAX_TEMPLATE_MEMORY=2g',
      'cpu_limit 4 lowered to MAX_TEMPLATE_CPUS=2',
      'pids_limit 1024 lowered to MAX_TEMPLATE_PIDS=256',
      'timeout 3600 lowered to MAX_TIMEOUT_S=300',
    ]);
  });
});
