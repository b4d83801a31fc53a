import Docker from 'dockerode';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bodyOnly } from './sandbox';

/** What dockerode sends for a create: the request's path and its JSON body, seen by a loopback server. */
async function sentBy(create: (docker: Docker) => Promise<unknown>): Promise<{ url: string; body: unknown }> {
  let seen: { url: string; body: unknown } | undefined;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen = { url: req.url ?? '', body: JSON.parse(Buffer.concat(chunks).toString()) as unknown };
      res.writeHead(201, { 'content-type': 'application/json' }).end('{"Id":"abc","Warnings":[]}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const { port } = server.address() as AddressInfo;
    await create(new Docker({ protocol: 'http', host: '127.0.0.1', port }));
  } finally {
    await new Promise((r) => server.close(r));
  }
  if (!seen) throw new Error('nothing was sent');
  return seen;
}

describe('bodyOnly', () => {
  const options: Docker.ContainerCreateOptions = {
    Image: 'executor/default:latest',
    Cmd: ['python3', '-c', 'x = 1\n'.repeat(1000)],
    Labels: { 'executor.managed': 'true' },
    HostConfig: { NetworkMode: 'none', Memory: 512 * 1024 * 1024 },
  };

  it('sends the create options in the body only, not again in the query string', async () => {
    const sent = await sentBy((docker) => docker.createContainer(bodyOnly(options)));
    expect(sent.url.replace(/\?$/, '')).toBe('/containers/create');
    expect(sent.body).toEqual(options);
  });

  it('is needed: dockerode alone copies every option into the URL', async () => {
    const sent = await sentBy((docker) => docker.createContainer({ ...options }));
    expect(sent.url.length).toBeGreaterThan(6000);
    expect(sent.body).toEqual(options);
  });
});
