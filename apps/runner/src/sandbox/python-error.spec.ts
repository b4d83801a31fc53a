import { parsePythonError } from './python-error';

describe('parsePythonError', () => {
  it('reads name, value and traceback of the last exception', () => {
    const stderr =
      'warning: something\nTraceback (most recent call last):\n  File "<code>", line 1, in <module>\nKeyError: \'k\'\n';
    expect(parsePythonError(stderr)).toEqual({
      name: 'KeyError',
      value: "'k'",
      traceback: 'Traceback (most recent call last):\n  File "<code>", line 1, in <module>\nKeyError: \'k\'',
    });
  });

  it('reads a syntax error, which has no traceback header', () => {
    const stderr = '  File "<code>", line 1\n    def (\n        ^\nSyntaxError: invalid syntax\n';
    expect(parsePythonError(stderr)).toMatchObject({ name: 'SyntaxError', value: 'invalid syntax' });
  });

  it('reads dotted names and exceptions without a message', () => {
    expect(parsePythonError('Traceback (most recent call last):\nmod.CustomError: x')?.name).toBe(
      'mod.CustomError',
    );
    expect(parsePythonError('Traceback (most recent call last):\nKeyboardInterrupt')?.value).toBe('');
  });

  it('is null when stderr does not end with an exception', () => {
    expect(parsePythonError('')).toBeNull();
    expect(parsePythonError('some log line\n')).toBeNull();
  });
});
