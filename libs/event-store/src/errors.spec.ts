import { EventStoreUnavailableError, storeError } from './errors';

describe('storeError', () => {
  it('turns disk and lock trouble into EventStoreUnavailableError and keeps the rest', () => {
    for (const code of ['SQLITE_FULL', 'SQLITE_READONLY', 'SQLITE_IOERR_WRITE', 'SQLITE_BUSY']) {
      expect(storeError(Object.assign(new Error('x'), { code }))).toBeInstanceOf(EventStoreUnavailableError);
    }
    const constraint = Object.assign(new Error('unique'), { code: 'SQLITE_CONSTRAINT_UNIQUE' });
    expect(storeError(constraint)).toBe(constraint);
  });

  it('turns an unreachable, full, shutting-down or read-only PostgreSQL into EventStoreUnavailableError', () => {
    const unavailable = (err: unknown) => {
      const mapped = storeError(err);
      return mapped instanceof EventStoreUnavailableError ? mapped.driverCode : null;
    };
    for (const code of [
      '08006',
      '08001',
      '53100',
      '53200',
      '53300',
      '57P01',
      '57P02',
      '57P03',
      '25006',
      '55P03',
    ]) {
      expect(unavailable(Object.assign(new Error('pg'), { code }))).toBe(code);
    }
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT']) {
      expect(unavailable(Object.assign(new Error(code), { code }))).toBe(code);
    }
    // Node reports a refused connection to every address of a host at once.
    expect(
      unavailable(Object.assign(new AggregateError([], 'x'), { errors: [{ code: 'ECONNREFUSED' }] })),
    ).toBe('ECONNREFUSED');
    expect(unavailable(new Error('Connection terminated unexpectedly'))).toBe('CONNECTION_LOST');
    expect(unavailable(new Error('timeout exceeded when trying to connect'))).toBe('ETIMEDOUT');
    // Not "try again later": a bug, a bad query or a conflict.
    for (const code of ['23505', '42P01', '22001', '40001', '40P01']) {
      const err = Object.assign(new Error('pg'), { code });
      expect(storeError(err)).toBe(err);
    }
  });
});
