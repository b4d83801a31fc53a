import { placeOf, summarize, type CpuProfile } from './profile-summary';

const frame = (functionName: string, url = '') => ({ functionName, url, lineNumber: 1 });

describe('summarize', () => {
  // root → idle, a Nest frame, a write, our own code; one sample each second apart.
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: frame('(root)'), children: [2, 3, 4, 5] },
      { id: 2, callFrame: frame('(idle)') },
      { id: 3, callFrame: frame('handle', 'file:///x/node_modules/@nestjs/core/router/a.js') },
      { id: 4, callFrame: frame('writeBuffer') },
      { id: 5, callFrame: frame('execute', 'file:///w/dist/apps/api/src/sessions/s.js') },
    ],
    samples: [2, 3, 4, 5, 3],
    timeDeltas: [1e6, 1e6, 1e6, 1e6, 1e6],
  };

  it('counts the CPU in the window by package and function, idle out and writes apart', () => {
    const s = summarize(profile, 0, 10);
    expect(s.busy_ms).toBe(4000);
    expect(s.writes_ms).toBe(1000);
    expect(s.packages).toEqual([
      ['@nestjs/core', 2000],
      ['writeBuffer', 1000],
      ['apps/api/src', 1000],
    ]);
    expect(s.functions[0]).toEqual(['handle router/a.js:1', 2000]);
  });

  it('leaves out the samples before --from and after --to', () => {
    expect(summarize(profile, 2.5, 4.5).busy_ms).toBe(2000);
  });

  it('names the place of a frame', () => {
    expect(placeOf('file:///a/node_modules/pino/lib/x.js', 'f')).toBe('pino');
    expect(placeOf('node:net', 'f')).toBe('node:net');
    expect(placeOf('', '(garbage collector)')).toBe('(garbage collector)');
  });
});
