import { ErrorCode as NatsErrorCode } from 'nats';
import { ErrorCodes, Subjects } from '@executor/contracts';
import { answeringService, toRemoteError } from './nats-rpc';

describe('toRemoteError', () => {
  it('names the app that serves the subject, not its first token', () => {
    expect(answeringService(Subjects.ExecutionRun)).toBe('session-service');
    expect(answeringService(Subjects.SessionCreate)).toBe('session-service');
    expect(answeringService(Subjects.TemplatesGet)).toBe('template-service');
    expect(answeringService(Subjects.AdminEvents)).toBe('metrics service');
    expect(answeringService(Subjects.RunnerSessionOpen)).toBe('runner');
  });

  it('turns transport failures into coded errors', () => {
    const timeout = toRemoteError(Subjects.ExecutionRun, 100, { code: NatsErrorCode.Timeout });
    expect(timeout).toMatchObject({
      code: ErrorCodes.DependencyTimeout,
      message: 'the session-service did not answer within 100 ms',
    });
    const none = toRemoteError(Subjects.TemplatesList, 100, { code: NatsErrorCode.NoResponders });
    expect(none).toMatchObject({
      code: ErrorCodes.DependencyUnavailable,
      message: 'no template-service is connected now',
      retryAfter: 1,
    });
    const answered = toRemoteError(Subjects.SessionGet, 100, {
      code: 'SESSION_NOT_FOUND',
      message: 'no session x',
    });
    expect(answered).toMatchObject({ code: 'SESSION_NOT_FOUND', message: 'no session x' });
  });
});
