'use strict';
/*
 * Docker Engine API proxy for the runner: the only holder of the engine's socket in the
 * compose stack. It offers the runner a socket of its own and passes only the calls the
 * runner makes through dockerode, with or without an API version prefix (/v1.41/...):
 *
 *   GET    /_ping /info /version                      health and engine facts
 *   GET    /containers/json, /containers/{id}/json    orphan sweep, inspect (OOM, exit code)
 *   POST   /containers/create, /containers/{id}/{attach,start,kill,update}
 *   DELETE /containers/{id}                           sandboxes are removed with force
 *   GET    /images/{name}/json, POST /images/{name}/tag   template image status and tags
 *   POST   /build                                     template image builds
 *   GET    /networks/{id}, POST /networks/create      the web templates' bridge
 *
 * Everything else (exec into any container, volumes, pulls, pushes, image removal, system
 * prune, swarm, plugins, secrets, events, the engine's configuration) answers 403 and is
 * logged. The body of POST /containers/create (a container's configuration) is not read: a
 * runner taken over could still ask for a privileged container; the proxy narrows the
 * surface, the runner's code keeps every sandbox unprivileged.
 *
 * Node's http module only (it runs from the app image, mounted read-only). Not haproxy:
 * dockerode opens an attach stream as a POST with `Transfer-Encoding: chunked` plus
 * `Upgrade: tcp` and then writes raw bytes on it; haproxy parses those bytes as chunks and
 * answers 400. Here an upgrade request is checked, then piped to the engine byte for byte.
 */
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');

const ENGINE = process.env.ENGINE_SOCKET || '/var/run/docker.sock';
const LISTEN = process.env.PROXY_SOCKET || '/run/docker-proxy/docker.sock';
const OWNER = Number(process.env.PROXY_SOCKET_UID || 10100);
// A second socket, root's own, for the container's health check.
const HEALTH = process.env.HEALTH_SOCKET || '/tmp/health.sock';
// PROXY_LOG_ALL=1 logs every call passed, not only the refused ones.
const LOG_ALL = process.env.PROXY_LOG_ALL === '1';
const MAX_HEADER_BYTES = 1024 * 1024;

const V = String.raw`^(?:/v[0-9]+\.[0-9]+)?`;
const ID = String.raw`[A-Za-z0-9][A-Za-z0-9_.-]*`;
// An image name: registry/repo:tag or an id; no '..' (checked below).
const IMAGE = String.raw`[A-Za-z0-9][A-Za-z0-9_./:@-]*`;
const RULES = {
  GET: new RegExp(
    `${V}/(?:_ping|info|version|containers/json|containers/${ID}/json|images/${IMAGE}/json|networks/${ID})$`,
  ),
  HEAD: new RegExp(`${V}/_ping$`),
  POST: new RegExp(
    `${V}/(?:containers/create|containers/${ID}/(?:attach|start|kill|update)|images/${IMAGE}/tag|build|networks/create)$`,
  ),
  DELETE: new RegExp(`${V}/containers/${ID}$`),
};

function allowed(method, url) {
  const path = (url || '').split('?')[0];
  if (path.includes('..') || path.includes('//') || /%2e|%2f/i.test(path)) return false;
  const rule = RULES[method];
  return !!rule && rule.test(path);
}

const log = (msg) => console.log(`${new Date().toISOString()} docker-proxy ${msg}`);

function refuse(method, url) {
  const path = (url || '').split('?')[0];
  log(`refused ${method} ${path}`);
  return JSON.stringify({ message: `executor docker-proxy: ${method} ${path} is not allowed` });
}

function onRequest(req, res) {
  if (LOG_ALL) log(`${req.method} ${req.url.split('?')[0]}`);
  if (!allowed(req.method, req.url)) {
    const body = refuse(req.method, req.url);
    res.writeHead(403, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
    return;
  }
  const upstream = http.request({
    socketPath: ENGINE,
    method: req.method,
    path: req.url,
    headers: req.headers,
    maxHeaderSize: MAX_HEADER_BYTES,
  });
  upstream.on('response', (answer) => {
    res.writeHead(answer.statusCode || 502, answer.headers);
    answer.pipe(res);
  });
  upstream.on('error', (err) => {
    log(`engine: ${err.message}`);
    if (!res.headersSent) {
      res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: `executor docker-proxy: the engine: ${err.message}` }));
    } else res.destroy();
  });
  req.on('aborted', () => upstream.destroy());
  req.pipe(upstream);
}

// An attach (Upgrade: tcp): the request line and headers as they came, then both ways raw
// once the engine has answered. What the client sends before the answer is its request body
// (dockerode's options as one chunk), which the engine, reading the headers and body in one
// go from a direct connection, drops when it takes the connection over; passed on later it
// would reach the sandbox's stdin. So it is dropped here too.
function onUpgrade(req, socket) {
  if (LOG_ALL) log(`${req.method} ${req.url.split('?')[0]} (upgrade)`);
  if (!allowed(req.method, req.url)) {
    const body = refuse(req.method, req.url);
    socket.end(
      `HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
    return;
  }
  const engine = net.connect(ENGINE);
  const lines = [`${req.method} ${req.url} HTTP/1.1`];
  for (let i = 0; i < req.rawHeaders.length; i += 2)
    lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
  engine.write(`${lines.join('\r\n')}\r\n\r\n`);
  const dropBody = () => undefined;
  socket.on('data', dropBody);
  let answer = Buffer.alloc(0);
  const onAnswer = (chunk) => {
    answer = Buffer.concat([answer, chunk]);
    if (answer.indexOf('\r\n\r\n') < 0 && answer.length < MAX_HEADER_BYTES) return;
    engine.off('data', onAnswer);
    socket.off('data', dropBody);
    socket.write(answer);
    socket.pipe(engine).pipe(socket);
  };
  engine.on('data', onAnswer);
  const close = () => {
    socket.destroy();
    engine.destroy();
  };
  socket.on('error', close);
  engine.on('error', (err) => {
    log(`engine (attach): ${err.message}`);
    close();
  });
  socket.on('close', close);
  engine.on('close', close);
}

function serve(path, owner) {
  try {
    fs.unlinkSync(path);
  } catch {
    // none left over
  }
  // The engine's own limit (Go's default): dockerode's requests can carry big headers.
  const server = http.createServer({ maxHeaderSize: MAX_HEADER_BYTES }, onRequest);
  // Builds stream for minutes and attach streams live as long as their sandboxes.
  server.requestTimeout = 0;
  server.timeout = 0;
  server.headersTimeout = 60000;
  server.keepAliveTimeout = 5000;
  server.on('upgrade', onUpgrade);
  server.on('clientError', (err, socket) => {
    log(`bad request: ${err.code || err.message}`);
    socket.destroy();
  });
  server.listen(path, () => {
    if (owner !== undefined) fs.chownSync(path, owner, owner);
    fs.chmodSync(path, 0o600);
    log(`listening on ${path}${owner !== undefined ? ` for uid ${owner}` : ''}, engine ${ENGINE}`);
  });
  return server;
}

const servers = [serve(LISTEN, OWNER), serve(HEALTH)];
process.on('SIGTERM', () => {
  for (const s of servers) s.close();
  setTimeout(() => process.exit(0), 2000).unref();
});
