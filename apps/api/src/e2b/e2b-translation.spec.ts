import { ErrorCodes, type SessionExecuteReply } from '@executor/contracts';
import { RemoteError } from '@executor/common';
import { create } from '@bufbuild/protobuf';
import { sandboxToken } from '../auth/api-keys';
import { ApiKeys, hashKey } from '../auth/api-keys';
import { metadataFilter } from './control-plane.controller';
import { toE2bError } from './e2b-errors';
import { fromWorkspacePath, toWorkspaceDir, toWorkspacePath } from './e2b-paths';
import { closingLines, toE2bResult } from './e2b-results';
import { entryInfo, shellQuote, toConnectError } from './envd-services';
import { parseFrame, processSpec, selectorOf } from './envd-process';
import { FileType } from './third_party/envd/gen/filesystem/filesystem_pb';
import { ProcessConfigSchema, ProcessSelectorSchema } from './third_party/envd/gen/process/process_pb';

const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    return err instanceof RemoteError ? err.code : 'other';
  }
  return undefined;
};

describe('E2B paths', () => {
  it('maps /home/user, /workspace and relative paths onto the workspace', () => {
    expect(toWorkspacePath('/home/user')).toBe('');
    expect(toWorkspacePath('/home/user/')).toBe('');
    expect(toWorkspacePath('/home/user/a/b.txt')).toBe('a/b.txt');
    expect(toWorkspacePath('/workspace/a.txt')).toBe('a.txt');
    expect(toWorkspacePath('a//b/./c.txt')).toBe('a/b/c.txt');
    expect(toWorkspacePath('/home/user/a/../b.txt')).toBe('b.txt');
    expect(fromWorkspacePath('')).toBe('/home/user');
    expect(fromWorkspacePath('a/b.txt')).toBe('/home/user/a/b.txt');
    expect(toWorkspaceDir('/home/user/work')).toBe('/workspace/work');
    expect(toWorkspaceDir('/home/user')).toBe('/workspace');
    expect(toWorkspaceDir(undefined)).toBeUndefined();
  });

  it('refuses paths outside the workspace and those the workspace rules refuse', () => {
    for (const bad of [
      '/etc/passwd',
      '/home/user/../../etc',
      '/home/userx/a',
      '/tmp',
      '../x',
      '',
      'a\0b',
      7,
    ]) {
      expect(code(() => toWorkspacePath(bad))).toBe(ErrorCodes.ValidationError);
    }
    expect(code(() => toWorkspacePath('/home/user/run.sh'))).toBe(ErrorCodes.ValidationError);
    expect(code(() => toWorkspacePath('/home/user/.hidden'))).toBe(ErrorCodes.ValidationError);
    expect(code(() => toWorkspacePath('x'.repeat(2000)))).toBe(ErrorCodes.ValidationError);
  });
});

describe('E2B results', () => {
  it("names a bundle's MIME types as E2B's Result reads them", () => {
    const line = toE2bResult({
      is_main_result: true,
      data: {
        'text/plain': '1',
        'image/png': 'iVBOR',
        'application/vnd.executor.chart+json': { type: 'line' },
        'application/vnd.executor.dataframe+json': { a: [1] },
        'application/vnd.plotly.v1+json': { data: [] },
      },
    });
    expect(line).toEqual({
      type: 'result',
      is_main_result: true,
      text: '1',
      png: 'iVBOR',
      chart: { type: 'line' },
      data: { a: [1] },
      'application/vnd.plotly.v1+json': { data: [] },
    });
  });

  it('ends a run with its results, its error and its count; output only when none was streamed', () => {
    const reply = {
      stdout: 'out\n',
      stderr: '',
      results: [{ data: { 'text/plain': '2' }, is_main_result: true }],
      error: { name: 'NameError', value: 'x', traceback: 'tb' },
      execution_count: 3,
    } as unknown as SessionExecuteReply;
    const now = new Date(0);
    expect(closingLines(reply, true, now).map((l) => l.type)).toEqual([
      'result',
      'error',
      'number_of_executions',
    ]);
    expect(closingLines(reply, false, now)[0]).toEqual({
      type: 'stdout',
      text: 'out\n',
      timestamp: '1970-01-01T00:00:00.000Z',
    });
    expect(closingLines(reply, true, now).at(-1)).toEqual({
      type: 'number_of_executions',
      execution_count: 3,
    });
  });
});

describe('E2B errors', () => {
  it('answers an ended sandbox as not found, a full disk as 507, and keeps Retry-After', () => {
    expect(toE2bError(new RemoteError(ErrorCodes.SessionDestroyed, 'gone')).status).toBe(404);
    expect(toE2bError(new RemoteError(ErrorCodes.SessionNotFound, 'no')).status).toBe(404);
    expect(toE2bError(new RemoteError(ErrorCodes.FileRefused, 'No space left on device')).status).toBe(507);
    expect(toE2bError(new RemoteError(ErrorCodes.RateLimited, 'slow down', 7))).toMatchObject({
      status: 429,
      retryAfter: 7,
    });
    const unknown = toE2bError(new Error('secret detail'));
    expect(unknown.status).toBe(500);
    expect(unknown.message).not.toContain('secret');
  });

  it('maps our codes to the Connect codes the SDK turns into its own errors', () => {
    expect(toConnectError(new RemoteError(ErrorCodes.FileNotFound, 'x')).code).toBe(5); // not_found
    expect(toConnectError(new RemoteError(ErrorCodes.ValidationError, 'x')).code).toBe(3); // invalid_argument
    expect(toConnectError(new RemoteError(ErrorCodes.RateLimited, 'x')).code).toBe(8); // resource_exhausted
    expect(toConnectError(new Error('secret')).message).not.toContain('secret');
  });
});

describe('E2B commands', () => {
  const config = (cmd: string, args: string[], cwd?: string) =>
    create(ProcessConfigSchema, { cmd, args, ...(cwd ? { cwd } : {}) });

  it("takes the SDK's process config as a spec: E2B's paths, stdin open unless told, checked", () => {
    expect(processSpec(config('/bin/bash', ['-l', '-c', 'ls'], '/home/user/d'), { stdin: false })).toEqual({
      cmd: '/bin/bash',
      args: ['-l', '-c', 'ls'],
      envs: {},
      cwd: '/workspace/d',
      stdin: false,
    });
    const pty = processSpec(config('/bin/bash', ['-i', '-l']), { pty: { cols: 80, rows: 24 }, tag: 't' });
    expect(pty).toMatchObject({ stdin: true, pty: { cols: 80, rows: 24 }, tag: 't' });
    expect(code(() => processSpec(config('', []), {}))).toBe(ErrorCodes.ValidationError);
    expect(code(() => processSpec(config('/bin/bash', ['-c', 'ls'], '/etc'), {}))).toBe(
      ErrorCodes.ValidationError,
    );
    expect(code(() => processSpec(config('sh', ['a\0b']), {}))).toBe(ErrorCodes.ValidationError);
    expect(code(() => processSpec(config('sh', []), { pty: { cols: 0, rows: 24 } }))).toBe(
      ErrorCodes.ValidationError,
    );
  });

  it('selects a process by pid or tag, and nothing else', () => {
    expect(selectorOf(create(ProcessSelectorSchema, { selector: { case: 'pid', value: 7 } }))).toEqual({
      pid: 7,
    });
    expect(selectorOf(create(ProcessSelectorSchema, { selector: { case: 'tag', value: 'x' } }))).toEqual({
      tag: 'x',
    });
    expect(code(() => selectorOf(undefined))).toBe(ErrorCodes.ValidationError);
  });

  it('reads only well-formed frames of a process stream from the bus', () => {
    const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
    expect(parseFrame(enc({ type: 'data', stream: 'pty', b64: 'aGk=' }))).toEqual({
      type: 'data',
      stream: 'pty',
      b64: 'aGk=',
    });
    expect(parseFrame(enc({ type: 'end', exit_code: 3, status: 'exit status 3' }))).toEqual({
      type: 'end',
      exit_code: 3,
      status: 'exit status 3',
    });
    expect(parseFrame(enc({ type: 'data', stream: 'stdin', b64: '' }))).toBeNull();
    expect(parseFrame(enc({ type: 'end', exit_code: '0', status: '' }))).toBeNull();
    expect(parseFrame(new TextEncoder().encode('not json'))).toBeNull();
    expect(parseFrame(new Uint8Array(200 * 1024))).toBeNull();
  });

  it('quotes any word for bash', () => {
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(shellQuote('$(rm -rf /)')).toBe("'$(rm -rf /)'");
  });

  it('turns a workspace entry into envd EntryInfo with E2B paths', () => {
    const e = entryInfo({
      name: 'd',
      path: 'a/d',
      type: 'dir',
      size: 4096,
      modified: '2026-01-01T00:00:00+00:00',
    });
    expect(e).toMatchObject({ name: 'd', path: '/home/user/a/d', type: FileType.DIRECTORY, size: 4096n });
    expect(e.modifiedTime?.seconds).toBe(BigInt(Date.parse('2026-01-01T00:00:00Z') / 1000));
  });
});

describe('E2B access', () => {
  it('parses the metadata filter the SDK sends (pairs encoded twice)', () => {
    const raw = new URLSearchParams({ [encodeURIComponent('a b')]: encodeURIComponent('c&d') }).toString();
    expect(metadataFilter(raw)).toEqual({ 'a b': 'c&d' });
    expect(metadataFilter(undefined)).toEqual({});
    expect(code(() => metadataFilter('a=%E0%A4%A'))).toBe(ErrorCodes.ValidationError);
  });

  it("opens a sandbox only with the token of its id, issued for the key's tenant", () => {
    const keys = ApiKeys.load('', 'alpha:tenant:k1,beta:tenant:k2');
    const token = sandboxToken(hashKey('k1'), 'sandbox-1');
    expect(keys.findBySandboxToken(token, 'sandbox-1')?.tenant).toBe('alpha');
    expect(keys.findBySandboxToken(token, 'sandbox-2')).toBeUndefined();
    expect(keys.findBySandboxToken(sandboxToken(hashKey('k3'), 'sandbox-1'), 'sandbox-1')).toBeUndefined();
    expect(keys.findBySandboxToken('', 'sandbox-1')).toBeUndefined();
  });
});
