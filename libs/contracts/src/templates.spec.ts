import { parseMemory, templateNotFoundMessage, templateVisibleTo } from './templates';

describe('parseMemory', () => {
  it.each([
    ['512m', 512 * 1024 ** 2],
    ['2g', 2 * 1024 ** 3],
    ['64K', 64 * 1024],
    ['1048576', 1048576],
  ])('%s is %d bytes', (s, n) => expect(parseMemory(s)).toBe(n));

  it.each(['', 'lots', '12x', '-1m', '0', '1.5g'])('refuses %j', (s) => expect(parseMemory(s)).toBeNull());
});

describe('templateVisibleTo', () => {
  it('shows a shared template (no owner) to every tenant and to no tenant', () => {
    expect(templateVisibleTo({}, 'acme')).toBe(true);
    expect(templateVisibleTo({}, undefined)).toBe(true);
  });

  it("shows a tenant's template to that tenant and to callers scoped to no tenant only", () => {
    expect(templateVisibleTo({ tenant_id: 'acme' }, 'acme')).toBe(true);
    expect(templateVisibleTo({ tenant_id: 'acme' }, undefined)).toBe(true);
    expect(templateVisibleTo({ tenant_id: 'acme' }, 'other')).toBe(false);
    expect(templateVisibleTo({ tenant_id: 'acme' }, '')).toBe(false);
  });

  it('tells a foreign tenant nothing but the name it asked for', () => {
    expect(templateNotFoundMessage('x1')).toBe('template "x1" not found');
  });
});
