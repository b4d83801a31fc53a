#!/usr/bin/env node
// Runs nats-server and the five apps and keeps them alive: one that dies is restarted with
// backoff (1 s doubling to 30 s, reset after a minute of uptime). nats-server is started
// here unless something already listens on NATS_URL's port (an external server or cluster).
// SIGINT/SIGTERM stop the apps first (each drains its requests in flight for up to
// DRAIN_TIMEOUT_S), then nats-server, then this process. Environment is passed through.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const net = require('node:net');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const APPS = (process.env.EXECUTOR_APPS || 'runner,template-service,session-service,metrics,api').split(',');
const DRAIN_S = Number(process.env.DRAIN_TIMEOUT_S || 30);
const children = new Map();
let stopping = false;

function log(msg) {
  process.stderr.write(`${JSON.stringify({ level: 'log', service: 'supervisor', message: msg })}\n`);
}

/** The loopback NATS address this stack should run itself, or null when it is not ours to run. */
function localNats() {
  if (process.env.EXECUTOR_SUPERVISE_NATS === '0') return null;
  const first = (process.env.NATS_URL || 'nats://127.0.0.1:4222').split(',')[0].trim();
  const m = /^(?:nats:\/\/)?(127\.0\.0\.1|localhost):(\d+)$/.exec(first);
  return m ? { host: '127.0.0.1', port: Number(m[2]) } : null;
}

function listening(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

const { allocatorEnv } = require('./lib/allocator');
function appEnv() {
  return { ...process.env, ...allocatorEnv() };
}

function spawnChild(name) {
  if (name === 'nats') {
    const { port } = localNats();
    return spawn(
      'nats-server',
      ['-c', path.join(ROOT, 'config', 'nats.conf'), '-a', '127.0.0.1', '-p', String(port)],
      {
        cwd: ROOT,
        stdio: 'inherit',
      },
    );
  }
  const entry = path.join(ROOT, 'dist', 'apps', name, 'src', 'main.js');
  // EXECUTOR_CPU_PROFILE_DIR: each app writes a V8 CPU profile there when it stops (see
  // scripts/bench/profile-summary.ts); node does not take --cpu-prof in NODE_OPTIONS.
  const dir = process.env.EXECUTOR_CPU_PROFILE_DIR;
  const flags = dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
  return spawn(process.execPath, [...flags, entry], { cwd: ROOT, stdio: 'inherit', env: appEnv() });
}

function start(name, backoffMs) {
  const startedAt = Date.now();
  const child = spawnChild(name);
  children.set(name, child);
  child.on('error', (err) => log(`${name} could not start: ${err.message}`));
  child.on('exit', (code, signal) => {
    children.delete(name);
    if (stopping) return;
    const upMs = Date.now() - startedAt;
    const next = upMs > 60000 ? 1000 : Math.min(backoffMs * 2, 30000);
    log(`${name} exited (${signal || code}); restarting in ${next} ms`);
    setTimeout(() => start(name, next), next).unref();
  });
}

function exited(child) {
  return new Promise((resolve) =>
    child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', resolve),
  );
}

async function stop() {
  if (stopping) return;
  stopping = true;
  log('stopping: draining the apps');
  const deadline = setTimeout(
    () => {
      for (const child of children.values()) child.kill('SIGKILL');
      process.exit(1);
    },
    (DRAIN_S + 15) * 1000,
  );
  const apps = [...children].filter(([name]) => name !== 'nats').map(([, c]) => c);
  for (const child of apps) child.kill('SIGTERM');
  await Promise.all(apps.map(exited));
  // The apps' last replies and events travel over NATS: it stops last.
  const nats = children.get('nats');
  if (nats) {
    nats.kill('SIGTERM');
    await exited(nats);
  }
  clearTimeout(deadline);
  process.exit(0);
}

async function main() {
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  const nats = localNats();
  if (nats && !(await listening(nats.port))) {
    if (spawnSync('nats-server', ['--version']).status !== 0) {
      log('nats-server is not installed: run scripts/setup.sh');
      process.exit(1);
    }
    start('nats', 500);
    for (let i = 0; i < 50 && !(await listening(nats.port)); i++)
      await new Promise((r) => setTimeout(r, 100));
  } else {
    log('using the NATS server already listening at NATS_URL');
  }
  for (const app of APPS) start(app, 500);
  log(`started ${[...children.keys()].join(', ')}`);
}

void main();
