import { workspacePathError } from './workspace-path';

describe('workspacePathError', () => {
  it.each(['a.txt', 'data/in.csv', 'deep/er/file name.json', 'x-1_2.py', 'README'])('accepts %s', (p) => {
    expect(workspacePathError(p)).toBeNull();
  });

  it.each([
    ['', 'non-empty'],
    ['/etc/passwd', 'relative'],
    ['../../etc/passwd', '..'],
    ['a/../../b', '..'],
    ['a\0b', 'NUL'],
    ['x.sh', '.sh'],
    ['lib.SO', '.so'],
    ['a//b', 'empty'],
    ['./a', 'empty or .'],
    ['.bashrc', 'start with .'],
    ['-rf', 'start with'],
    ['a\\b', 'separator'],
    ['a$b', 'may only contain'],
    ['ü.txt', 'may only contain'],
    ['x'.repeat(256), 'at most'],
    ['x.exe.', '.exe'],
    ['x.sh ', '.sh'],
    ['x.exe ', '.exe'],
    ['evil.exe..', '.exe'],
    ['dir/run.BAT. . ', '.bat'],
  ])('refuses %j (%s)', (p, why) => {
    expect(workspacePathError(p)).toContain(why);
  });

  it('refuses non-strings', () => {
    expect(workspacePathError(42)).toContain('non-empty string');
  });
});
