import { ErrorCodes } from '@executor/contracts';
import { apiErrorPayload } from '../http/api-error';
import { e2bUserOf } from './auth.guard';

describe('E2B users', () => {
  const basic = (user: string) => `Basic ${Buffer.from(`${user}:`).toString('base64')}`;

  it("takes the SDK's user and root as the sandbox's one user", () => {
    expect(e2bUserOf(basic('user'))).toBe('user');
    expect(e2bUserOf(basic('root'))).toBe('root');
    expect(e2bUserOf('Bearer abc')).toBeUndefined();
  });

  it('refuses a user the sandbox does not have, naming it', () => {
    let err: unknown;
    try {
      e2bUserOf(basic('admin'));
    } catch (e) {
      err = e;
    }
    expect(apiErrorPayload(err)).toMatchObject({
      code: ErrorCodes.Unauthenticated,
      message: expect.stringContaining('"admin"') as unknown,
    });
  });
});
