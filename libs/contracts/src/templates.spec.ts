import { parseMemory } from './templates';

describe('parseMemory', () => {
  it.each([
    ['512m', 512 * 1024 ** 2],
    ['2g', 2 * 1024 ** 3],
    ['64K', 64 * 1024],
    ['1048576', 1048576],
  ])('%s is %d bytes', (s, n) => expect(parseMemory(s)).toBe(n));

  it.each(['', 'lots', '12x', '-1m', '0', '1.5g'])('refuses %j', (s) => expect(parseMemory(s)).toBeNull());
});
