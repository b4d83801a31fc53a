import pino from 'pino';
import { Writable } from 'node:stream';
import { loggerOptions, redactSecrets } from './logger';
import { currentRequest, runInRequest } from './request-context';
import { rpcRequestContext } from './rpc-context.interceptor';

function capture(service: string) {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n').filter(Boolean))
        lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino(loggerOptions(service), sink), lines };
}

describe('service logs', () => {
  it('writes one JSON object a line with service, level name and ISO time', () => {
    const { logger, lines } = capture('runner');
    logger.info('hello');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ service: 'runner', level: 'info', msg: 'hello' });
    expect(new Date(String(lines[0].time)).toISOString()).toBe(lines[0].time);
  });

  it('puts the ids of the request being served on every line, also after an await', async () => {
    const { logger, lines } = capture('api');
    logger.info('outside');
    await runInRequest({ request_id: 'r1', correlation_id: 'r1' }, async () => {
      logger.info('before');
      await new Promise((r) => setTimeout(r, 5));
      logger.child({ context: 'x' }).warn('after');
    });
    expect(lines.map((l) => [l.msg, l.request_id, l.correlation_id])).toEqual([
      ['outside', undefined, undefined],
      ['before', 'r1', 'r1'],
      ['after', 'r1', 'r1'],
    ]);
    expect(currentRequest()).toBeUndefined();
  });

  it('redacts secrets, code and outputs, nested too', () => {
    const { logger, lines } = capture('api');
    logger.info({
      authorization: 'Bearer k',
      cmd: { code: 'print(1)', env: { A: 'b' }, files: [{ content: 'x' }] },
      headers: { 'x-api-key': 'k2' },
      result: { stdout: 'the-output' },
      template: 'default',
    });
    const text = JSON.stringify(lines[0]);
    for (const secret of ['Bearer k', 'print(1)', '"b"', 'k2', 'the-output'])
      expect(text).not.toContain(secret);
    expect(lines[0]).toMatchObject({ template: 'default', cmd: { code: '[redacted]' } });
  });
});

describe('redactSecrets', () => {
  const none = new Set<string>();

  it("censors secret keys two levels down in a copy, leaving the caller's objects as they were", () => {
    class Command {
      code = 'print(1)';
      language = 'python';
    }
    const given = {
      cmd: new Command(),
      list: [{ stdout: 'out' }, 'plain'],
      keep: { a: { b: 1 } },
      env: { A: '1' },
    };
    const out = redactSecrets(given, none);
    expect(out).toEqual({
      cmd: { code: '[redacted]', language: 'python' },
      list: [{ stdout: '[redacted]' }, 'plain'],
      keep: { a: { b: 1 } },
      env: '[redacted]',
    });
    expect(given.cmd.code).toBe('print(1)');
    expect(given.list[0]).toEqual({ stdout: 'out' });
    expect(given.env).toEqual({ A: '1' });
    expect(out.keep).toBe(given.keep);
  });

  it('returns the same object when there is nothing to censor, and leaves serialized keys and buffers alone', () => {
    const given = { rpc: 'executor.session.execute', req: { code: 'x' }, data: Buffer.from('code') };
    expect(redactSecrets(given, new Set(['req']))).toBe(given);
  });
});

describe('the ids of an RPC', () => {
  const headers = (v?: string) => ({ get: () => v ?? '' });

  it("takes the caller's request id from the header", () => {
    expect(rpcRequestContext(headers('abc-1'), { correlation_id: 'other' })).toEqual({
      request_id: 'abc-1',
      correlation_id: 'abc-1',
    });
  });

  it("falls back to the command's correlation id, then to a new id", () => {
    expect(rpcRequestContext(headers(), { correlation_id: 'c-2' })).toEqual({
      request_id: 'c-2',
      correlation_id: 'c-2',
    });
    const fresh = rpcRequestContext(undefined, null);
    expect(fresh.request_id).toBeUndefined();
    expect(fresh.correlation_id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('ignores ids that are not short tokens (a line break would forge log lines)', () => {
    const forged = rpcRequestContext(headers('x\n{"level":"fatal"}'), { correlation_id: 'a'.repeat(101) });
    expect(forged.request_id).toBeUndefined();
  });
});
