import { readArgs, UsageError } from './cli-args';

const OPTIONS = { tenant: 'string', role: 'string', 'max-timeout-s': 'integer', force: 'boolean' } as const;

describe('readArgs', () => {
  it('accepts --name=value and --name value alike, flags and whole numbers', () => {
    expect(readArgs(['--tenant=acme', '--role', 'admin', '--max-timeout-s=60', '--force'], OPTIONS)).toEqual({
      values: { tenant: 'acme', role: 'admin', 'max-timeout-s': 60, force: true },
      positionals: [],
    });
    expect(readArgs(['--tenant', 'acme'], OPTIONS).values).toEqual({ tenant: 'acme' });
  });

  it('refuses an unknown option, a missing value and a number that is not one, naming the known ones', () => {
    expect(() => readArgs(['--tenat=acme'], OPTIONS)).toThrow(UsageError);
    expect(() => readArgs(['--tenat=acme'], OPTIONS)).toThrow(
      /--tenat.*known: --tenant --role --max-timeout-s/,
    );
    expect(() => readArgs(['--tenant'], OPTIONS)).toThrow(/argument missing/);
    expect(() => readArgs(['--max-timeout-s=1e3'], OPTIONS)).toThrow('--max-timeout-s takes a whole number');
    expect(() => readArgs(['--max-timeout-s', '-5'], OPTIONS)).toThrow(UsageError);
  });

  it('takes plain arguments only where the script has them', () => {
    expect(() => readArgs(['backup.sqlite'], OPTIONS)).toThrow(UsageError);
    expect(readArgs(['backup.sqlite', '--force'], OPTIONS, { positionals: 1 })).toEqual({
      values: { force: true },
      positionals: ['backup.sqlite'],
    });
    expect(() => readArgs(['a', 'b'], OPTIONS, { positionals: 1 })).toThrow('unexpected argument b');
  });
});
