import type { TemplateSpec } from '@executor/contracts';
import { fitReply, toResult } from '../execution/execution-result';
import { sandboxLimits } from './run-limits';
import { MAX_TRACEBACK_CHARS, RunOutput, sanitizeBundle } from './run-output';

const r = 'abcdef0123456789';
const limits = { outputBytes: 1024, richBytes: 4096 };

describe('sanitizeBundle', () => {
  it('keeps allowed MIME keys with values of their kind only', () => {
    // As JSON.parse gives it: `__proto__` an own key, not the prototype.
    const got = sanitizeBundle(
      JSON.parse(
        '{"text/plain":"x","image/png":"aGk=","image/jpeg":{"not":"base64"},' +
          '"application/json":{"a":[1,2]},"application/x-evil":"y","__proto__":{"polluted":true}}',
      ) as Record<string, unknown>,
    );
    expect(got?.data).toEqual({ 'text/plain': 'x', 'image/png': 'aGk=', 'application/json': { a: [1, 2] } });
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });

  it('drops JSON that cannot be encoded (too deep for the encoder)', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(sanitizeBundle({ 'application/json': deep })).toBeNull();
  });

  it('is null when nothing usable is left', () => {
    expect(sanitizeBundle({ 'text/plain': 5 })).toBeNull();
  });
});

describe('RunOutput', () => {
  it('counts results, files and the error against one budget', () => {
    const o = new RunOutput(limits);
    expect(o.result({ t: 'result', r, data: { 'text/plain': 'a'.repeat(3000) } })).not.toBeNull();
    expect(o.result({ t: 'result', r, data: { 'text/plain': 'b'.repeat(3000) } })).toBeNull();
    o.file({ t: 'file', r, name: 'outputs/x.txt', mime: 'text/plain', size: 9, b: 'aGk='.repeat(400) });
    expect(o.files).toHaveLength(0);
    expect(o.richTruncated).toBe(true);
    expect(o.drops.refused).toBe(2);
  });

  it('never trusts the size a file frame claims', () => {
    const o = new RunOutput(limits);
    o.file({ t: 'file', r, name: 'outputs/x.txt', mime: 'text/plain', size: 999999, b: 'aGk=' });
    expect(o.files[0].size).toBe(2);
  });

  it.each(['outputs/evil.exe', 'outputs/a"b\r\nX: y.html', 'secret.txt', 'outputs/../x', 'outputs/x.sh.'])(
    'refuses the output file name %j',
    (name) => {
      const o = new RunOutput(limits);
      o.file({ t: 'file', r, name, mime: 'text/plain', size: 2, b: 'aGk=' });
      expect(o.files).toHaveLength(0);
      expect(o.stderr.text()).toContain('an output file was not returned');
    },
  );

  it('replaces an unknown MIME type of a file', () => {
    const o = new RunOutput(limits);
    o.file({ t: 'file', r, name: 'outputs/a.dat', mime: 'text/html\r\nX-Evil: 1', size: 2, b: 'aGk=' });
    expect(o.files[0].mime).toBe('application/octet-stream');
  });

  it('cuts a huge traceback and says so', () => {
    const o = new RunOutput({ outputBytes: 1024, richBytes: 1024 * 1024 });
    o.setError({
      t: 'error',
      r,
      name: 'ValueError',
      value: 'v'.repeat(100),
      traceback: 't'.repeat(2_000_000),
    });
    expect(o.error?.traceback?.length).toBeLessThan(MAX_TRACEBACK_CHARS + 100);
    expect(o.richTruncated).toBe(true);
  });

  it('counts output past the cap without decoding it', () => {
    const o = new RunOutput(limits);
    o.output('stdout', Buffer.alloc(2000, 0x41).toString('base64'));
    expect(o.output('stdout', Buffer.alloc(3000).toString('base64'))).toBeNull();
    expect(o.stdout.total).toBe(5000);
    expect(o.stdout.text()).toHaveLength(1024);
  });
});

describe('sandboxLimits', () => {
  it('sizes every part of a run from the bus payload', () => {
    const l = sandboxLimits({ MAX_OUTPUT_BYTES: 64 * 1024 * 1024 }, 1024 * 1024);
    expect(l.replyBytes).toBe(1024 * 1024 - 64 * 1024);
    expect(l.outputBytes * 2 + l.richBytes).toBeLessThanOrEqual(l.replyBytes);
    expect(l.frameBytes).toBeGreaterThan(l.richBytes);
  });
});

describe('fitReply', () => {
  const template = { name: 'default', memory_limit: '512m' } as TemplateSpec;

  it('keeps every result under the limit, whatever JSON escaping does to the output', () => {
    const o = new RunOutput({ outputBytes: 1024 * 1024, richBytes: 8 * 1024 * 1024 });
    // Control characters become six bytes each once JSON-encoded.
    o.stdout.push(Buffer.alloc(1024 * 1024, 0x01));
    o.stderr.push(Buffer.alloc(1024 * 1024, 0x02));
    o.result({ t: 'result', r, data: { 'text/html': '<b>'.repeat(1_000_000) } });
    o.setError({ t: 'error', r, name: 'E', value: 'x'.repeat(60_000), traceback: 'y'.repeat(200_000) });
    o.exitCode = 1;
    const limit = 4 * 1024 * 1024;
    const result = toResult(
      { execution_id: 'e', template, language: 'python', timeout: 5, replyBytes: limit },
      { output: o, durationMs: 1, timedOut: false, oomKilled: false, died: false },
    );
    expect(Buffer.byteLength(JSON.stringify(result))).toBeLessThanOrEqual(limit);
    expect(result.truncated).toBe(true);
    expect(result.status).toBe('error');
  });

  it('leaves a result that fits alone', () => {
    const o = new RunOutput(limits);
    o.exitCode = 0;
    const result = toResult(
      { execution_id: 'e', template, language: 'python', timeout: 5, replyBytes: 1e6 },
      { output: o, durationMs: 1, timedOut: false, oomKilled: false, died: false },
    );
    expect(fitReply(result, 1e6).truncated).toBe(false);
  });
});
