import { commandName, processSpecError, ptySizeError } from './processes';

describe('process specs', () => {
  const ok = { cmd: '/bin/bash', args: ['-l', '-c', 'ls'], envs: { A: '1' }, stdin: false };

  it('accepts a well-formed spec', () => {
    expect(processSpecError(ok)).toBeNull();
    expect(
      processSpecError({ ...ok, cwd: '/workspace/a/b', tag: 't', pty: { cols: 80, rows: 24 } }),
    ).toBeNull();
  });

  it('names the field of a bad one', () => {
    expect(processSpecError(null)).toMatch(/required/);
    expect(processSpecError({ ...ok, cmd: '' })).toMatch(/cmd/);
    expect(processSpecError({ ...ok, args: [1] })).toMatch(/args/);
    expect(processSpecError({ ...ok, envs: { 'A=B': 'x' } })).toMatch(/variable name/);
    expect(processSpecError({ ...ok, envs: { A: 1 } })).toMatch(/envs\.A/);
    expect(processSpecError({ ...ok, args: ['a\0b'] })).toMatch(/NUL/);
    expect(processSpecError({ ...ok, args: ['x'.repeat(300 * 1024)] })).toMatch(/at most/);
    expect(processSpecError({ ...ok, cwd: '/etc' })).toMatch(/cwd/);
    expect(processSpecError({ ...ok, cwd: '/workspace/../etc' })).toMatch(/\.\./);
    expect(processSpecError({ ...ok, stdin: 'yes' })).toMatch(/stdin/);
    expect(processSpecError({ ...ok, pty: { cols: 0, rows: 1 } })).toMatch(/pty/);
  });

  it('checks terminal sizes', () => {
    expect(ptySizeError({ cols: 100, rows: 30 })).toBeNull();
    expect(ptySizeError({ cols: 1.5, rows: 30 })).not.toBeNull();
    expect(ptySizeError(undefined)).not.toBeNull();
  });

  it("records a program's name only", () => {
    expect(commandName('/bin/bash')).toBe('bash');
    expect(commandName('python3')).toBe('python3');
    expect(commandName('/x/$(rm)')).toBe('__rm_');
  });
});
