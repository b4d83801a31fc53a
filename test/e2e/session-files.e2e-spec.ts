import { randomUUID } from 'node:crypto';
import { get, post, stackInfo } from './client';

interface ErrorBody {
  status: string;
  error: { code: string; message: string };
}

describe('session files inside /workspace', () => {
  let id: string;

  beforeAll(async () => {
    const res = await post<{ session_id: string }>('/session/create', {
      tenant_id: `t-files-${randomUUID().slice(0, 6)}`,
      scope: 'files',
    });
    id = res.body.session_id;
  });

  const upload = (path: string, content: string, encoding?: string) =>
    post<ErrorBody & { path: string; size: number }>('/session/files/upload', {
      session_id: id,
      path,
      content,
      ...(encoding ? { encoding } : {}),
    });

  it('uploads text and base64, lists, downloads raw and as JSON, the code sees them', async () => {
    expect((await upload('data/notes.txt', 'hello files')).body).toMatchObject({
      status: 'success',
      size: 11,
    });
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 255]);
    expect((await upload('data/img.png', png.toString('base64'), 'base64')).status).toBe(200);

    const list = await get<{
      entries: Array<{ name: string; type: string; size: number; modified: string }>;
    }>(`/session/files/list?session_id=${id}&path=data`);
    expect(list.body.entries.map((e) => [e.name, e.type, e.size])).toEqual([
      ['img.png', 'file', 8],
      ['notes.txt', 'file', 11],
    ]);
    expect(Date.parse(list.body.entries[0].modified)).not.toBeNaN();

    const raw = await fetch(
      `${stackInfo().apiUrl}/session/files/download?session_id=${id}&path=data/img.png`,
    );
    expect(raw.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await raw.arrayBuffer())).toEqual(png);
    const json = await get<{ content: string; encoding: string; mime: string }>(
      `/session/files/download?session_id=${id}&path=data/notes.txt&format=json`,
    );
    expect(json.body).toMatchObject({ encoding: 'base64', mime: 'text/plain' });
    expect(Buffer.from(json.body.content, 'base64').toString()).toBe('hello files');

    const seen = await post<{ stdout: string }>('/session/execute', {
      session_id: id,
      code: 'print(open("data/notes.txt").read())',
    });
    expect(seen.body.stdout).toBe('hello files\n');
  });

  it('uploads multipart', async () => {
    const form = new FormData();
    form.set('session_id', id);
    form.set('path', 'up/form.csv');
    form.set('file', new Blob(['a,b\n1,2\n']), 'ignored-name.csv');
    const res = await fetch(`${stackInfo().apiUrl}/session/files/upload`, { method: 'POST', body: form });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ path: 'up/form.csv', size: 8 });
  });

  it('makes directories and deletes files and directories', async () => {
    expect((await post('/session/files/mkdir', { session_id: id, path: 'made/deep' })).status).toBe(200);
    await upload('made/deep/x.txt', 'x');
    expect((await post('/session/files/delete', { session_id: id, path: 'made/deep/x.txt' })).status).toBe(
      200,
    );
    const gone = await get<ErrorBody>(`/session/files/download?session_id=${id}&path=made/deep/x.txt`);
    expect(gone.status).toBe(404);
    expect(gone.body.error.code).toBe('FILE_NOT_FOUND');
    expect((await post('/session/files/delete', { session_id: id, path: 'made' })).status).toBe(200);
    const root = await get<{ entries: Array<{ name: string }> }>(`/session/files/list?session_id=${id}`);
    expect(root.body.entries.map((e) => e.name)).not.toContain('made');
  });

  it.each([
    ['../../etc/passwd', '..'],
    ['/etc/passwd', 'relative'],
    ['a\u0000b', 'NUL'],
    ['x.sh', '.sh'],
    ['../../../tmp/evil.txt', '..'],
    ['ok/../../escape.txt', '..'],
  ])('refuses the hostile path %j', async (path, why) => {
    const res = await upload(path, 'x');
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain(why);
    const down = await get<ErrorBody>(
      `/session/files/download?session_id=${id}&path=${encodeURIComponent(path)}`,
    );
    expect(down.status).toBe(400);
  });

  it('never follows a link made inside the sandbox out of /workspace', async () => {
    await post('/session/execute', {
      session_id: id,
      code: 'import os\nos.symlink("/etc/shadow", "shadow.txt")\nos.symlink("/etc", "etc-link")',
    });
    const viaFile = await get<ErrorBody>(`/session/files/download?session_id=${id}&path=shadow.txt`);
    expect(viaFile.status).toBe(400);
    expect(viaFile.body.error).toMatchObject({
      code: 'FILE_REFUSED',
      message: 'path resolves outside /workspace',
    });
    const viaDir = await get<ErrorBody>(`/session/files/download?session_id=${id}&path=etc-link/passwd`);
    expect(viaDir.status).toBe(400);
    const writeThrough = await upload('etc-link/evil.txt', 'x');
    expect(writeThrough.status).toBe(400);
    const listThrough = await get<ErrorBody>(`/session/files/list?session_id=${id}&path=etc-link`);
    expect(listThrough.status).toBe(400);
  });

  it('refuses an 11 MB file', async () => {
    const res = await upload('big.txt', 'x'.repeat(11 * 1024 * 1024));
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('PAYLOAD_TOO_LARGE');
  });
});
