import { fileContents, mimeOf, parseResourceUri } from './mcp-resources';

const ID = '0b6f3c1e-8d2a-4c55-9e1f-2a3b4c5d6e7f';

describe('MCP resource URIs', () => {
  it('names the templates, one template, a folder and a file of a sandbox', () => {
    expect(parseResourceUri('executor://templates')).toEqual({ kind: 'templates' });
    expect(parseResourceUri('executor://templates/python-data')).toEqual({
      kind: 'template',
      name: 'python-data',
    });
    expect(parseResourceUri(`executor://sandboxes/${ID}/files`)).toEqual({
      kind: 'folder',
      sandboxId: ID,
      path: '',
    });
    expect(parseResourceUri(`executor://sandboxes/${ID}/files/data/`)).toEqual({
      kind: 'folder',
      sandboxId: ID,
      path: 'data',
    });
    expect(parseResourceUri(`executor://sandboxes/${ID}/files/data/my%20notes.txt`)).toEqual({
      kind: 'file',
      sandboxId: ID,
      path: 'data/my notes.txt',
    });
  });

  it('serves nothing else: other schemes, ids that are not UUIDs, encoded slashes, bad escapes', () => {
    for (const uri of [
      'file:///etc/passwd',
      'executor://templates/',
      'executor://templates/a/b',
      'executor://sandboxes/not-an-id/files/x.txt',
      `executor://sandboxes/${ID}/files/..%2F..%2Fetc%2Fpasswd`,
      `executor://sandboxes/${ID}/files/%E0%A4%A`,
      `executor://sandboxes/${ID}/files/x.txt?raw=1`,
      `executor://sandboxes/${ID}/other`,
    ])
      expect(parseResourceUri(uri)).toBeNull();
  });

  it('reads UTF-8 as text with a type from the extension, and other bytes as a base64 blob', () => {
    expect(fileContents('u', 'a/b.csv', Buffer.from('x,y\n1,é\n'))).toEqual({
      uri: 'u',
      mimeType: 'text/csv',
      text: 'x,y\n1,é\n',
    });
    expect(fileContents('u', 'noext', Buffer.from('plain'))).toMatchObject({ mimeType: 'text/plain' });
    const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0xff, 0x00]);
    expect(fileContents('u', 'dot.png', bytes)).toEqual({
      uri: 'u',
      mimeType: 'image/png',
      blob: bytes.toString('base64'),
    });
    expect(mimeOf('raw.dat', false)).toBe('application/octet-stream');
  });
});
