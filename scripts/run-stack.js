#!/usr/bin/env node
// Runs the five apps from dist/ and keeps them alive: an app that dies is restarted
// with backoff (1 s doubling to 30 s, reset after a minute of uptime). SIGINT/SIGTERM
// stop every app and then this process. Environment is passed through unchanged.
'use strict';
const { spawn } = require('node:child_process');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const APPS = (process.env.EXECUTOR_APPS || 'runner,template-service,session-service,metrics,api').split(',');
const children = new Map();
let stopping = false;

function log(msg) {
  process.stderr.write(`${JSON.stringify({ level: 'log', service: 'supervisor', message: msg })}\n`);
}

function start(app, backoffMs) {
  const entry = path.join(ROOT, 'dist', 'apps', app, 'src', 'main.js');
  const startedAt = Date.now();
  const child = spawn(process.execPath, [entry], { cwd: ROOT, stdio: 'inherit', env: process.env });
  children.set(app, child);
  child.on('exit', (code, signal) => {
    children.delete(app);
    if (stopping) return;
    const upMs = Date.now() - startedAt;
    const next = upMs > 60000 ? 1000 : Math.min(backoffMs * 2, 30000);
    log(`${app} exited (${signal || code}); restarting in ${next} ms`);
    setTimeout(() => start(app, next), next).unref();
  });
}

function stop() {
  if (stopping) return;
  stopping = true;
  log('stopping');
  for (const child of children.values()) child.kill('SIGTERM');
  const deadline = setTimeout(() => {
    for (const child of children.values()) child.kill('SIGKILL');
    process.exit(0);
  }, 10000);
  const check = setInterval(() => {
    if (children.size === 0) {
      clearInterval(check);
      clearTimeout(deadline);
      process.exit(0);
    }
  }, 100);
}

process.on('SIGINT', stop);
process.on('SIGTERM', stop);
for (const app of APPS) start(app, 500);
log(`started ${APPS.join(', ')}`);
