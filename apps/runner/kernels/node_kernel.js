// Executor's in-sandbox kernel for JavaScript (and bash), passed as `node -e`.
// Same protocol as python_kernel.py: requests as JSON lines on stdin, frames on stdout,
// each line starting with \x1e. State persists across runs in one vm context.
'use strict';
const fs = require('fs');
const path = require('path');
const util = require('util');
const vm = require('vm');
const { spawn } = require('child_process');

const MAX_OUTPUT = Number(process.env.EXECUTOR_MAX_OUTPUT_BYTES || 1024 * 1024);
const MAX_ARTIFACT = 10 * 1024 * 1024;
const WORKSPACE = '/workspace';
const OUTPUTS = path.join(WORKSPACE, 'outputs');
const MIME = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.svg': 'image/svg+xml',
  '.csv': 'text/csv',
  '.json': 'application/json',
  '.txt': 'text/plain',
  '.html': 'text/html',
  '.md': 'text/markdown',
};

// The id of the run in progress, put on every frame but ready (the runner drops frames of other runs).
let runId = null;
const MAX_ERROR_VALUE = 64 * 1024;
const MAX_TRACEBACK = 256 * 1024;

function send(frame) {
  if (frame.t !== 'ready') frame.r = runId;
  fs.writeSync(1, '\x1e' + JSON.stringify(frame) + '\n');
}

/** The run's exception, cut to the sizes the runner accepts. */
function errorOf(name, value, traceback) {
  const v = value.length <= MAX_ERROR_VALUE ? value : value.slice(0, MAX_ERROR_VALUE) + '\n... [truncated]';
  const tb =
    traceback.length <= MAX_TRACEBACK ? traceback : '[truncated] ...\n' + traceback.slice(-MAX_TRACEBACK);
  return { name: String(name).slice(0, 256), value: v, traceback: tb };
}

class Stream {
  constructor(name) {
    this.name = name;
    this.reset();
  }
  reset() {
    this.total = 0;
    this.sent = 0;
    this.truncated = false;
  }
  write(data) {
    const buf = Buffer.isBuffer(data) ? data : Buffer.from(String(data));
    if (buf.length === 0) return;
    this.total += buf.length;
    const room = MAX_OUTPUT - this.sent;
    if (room > 0) {
      const part = buf.subarray(0, room);
      this.sent += part.length;
      send({ t: 'out', n: this.name, b: part.toString('base64') });
    }
    if (buf.length > Math.max(room, 0) && !this.truncated) {
      this.truncated = true;
      send({ t: 'trunc', n: this.name });
    }
  }
}

const out = new Stream('stdout');
const err = new Stream('stderr');
const realExit = process.exit.bind(process);

class ExitSignal {
  constructor(code) {
    const n = code === undefined ? 0 : Number(code) || 0;
    this.code = Number.isInteger(n) && n >= -2147483648 && n <= 2147483647 ? n : 1;
  }
}

// User code writes through these; the protocol writes to fd 1 directly.
process.stdout.write = (chunk, enc, cb) => {
  out.write(typeof chunk === 'string' ? Buffer.from(chunk, typeof enc === 'string' ? enc : 'utf8') : chunk);
  if (typeof enc === 'function') enc();
  else if (typeof cb === 'function') cb();
  return true;
};
process.stderr.write = (chunk, enc, cb) => {
  err.write(typeof chunk === 'string' ? Buffer.from(chunk, typeof enc === 'string' ? enc : 'utf8') : chunk);
  if (typeof enc === 'function') enc();
  else if (typeof cb === 'function') cb();
  return true;
};
process.exit = (code) => {
  throw new ExitSignal(code);
};

const userConsole = new console.Console({ stdout: process.stdout, stderr: process.stderr });
const sandbox = {
  console: userConsole,
  require,
  process,
  Buffer,
  setTimeout,
  clearTimeout,
  setInterval,
  clearInterval,
  setImmediate,
  clearImmediate,
  queueMicrotask,
  URL,
  URLSearchParams,
  TextEncoder,
  TextDecoder,
  structuredClone,
  __dirname: WORKSPACE,
  __filename: path.join(WORKSPACE, '<cell>'),
};
sandbox.global = sandbox;
sandbox.globalThis = sandbox;
let context = vm.createContext(sandbox);
/** The globals a new context starts with (taken once the kernel is set up, before any run). */
let freshGlobals = null;

function bundle(value) {
  const data = { 'text/plain': util.inspect(value, { depth: 4, colors: false }) };
  if (value !== null && typeof value === 'object') {
    try {
      const json = JSON.parse(JSON.stringify(value));
      if (json !== undefined) data['application/json'] = json;
    } catch (_e) {
      // not JSON-able: text only
    }
  }
  return data;
}

function writeFiles(files) {
  for (const f of files || []) {
    const target = path.normalize(path.join(WORKSPACE, f.path));
    if (!target.startsWith(WORKSPACE + '/')) throw new Error('file path outside /workspace: ' + f.path);
    const parent = path.dirname(target);
    fs.mkdirSync(parent, { recursive: true });
    if (fs.realpathSync(parent) !== parent) throw new Error('file path goes through a link: ' + f.path);
    writeNew(target, Buffer.from(f.content_b64, 'base64'));
  }
}

/** Writes a file (never through a link); a write that fails (no space) leaves nothing behind. */
function writeNew(target, content) {
  const fd = fs.openSync(
    target,
    fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_NOFOLLOW,
    0o644,
  );
  try {
    let off = 0;
    while (off < content.length) off += fs.writeSync(fd, content, off);
  } catch (e) {
    fs.closeSync(fd);
    try {
      fs.unlinkSync(target);
    } catch (_e) {
      // already gone
    }
    throw e;
  }
  fs.closeSync(fd);
}

function snapshotOutputs() {
  const found = new Map();
  const walk = (dir) => {
    let entries = [];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch (_e) {
      return;
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        const st = fs.lstatSync(p);
        found.set(p, `${st.mtimeMs}:${st.size}`);
      }
    }
  };
  if (fs.existsSync(OUTPUTS) && !fs.lstatSync(OUTPUTS).isSymbolicLink()) walk(OUTPUTS);
  return found;
}

function sendNewOutputs(before) {
  for (const [p, stamp] of [...snapshotOutputs()].sort()) {
    if (before.get(p) === stamp) continue;
    const name = path.relative(WORKSPACE, p);
    const size = Number(stamp.split(':')[1]);
    if (size > MAX_ARTIFACT) {
      err.write(`executor: ${name} is too large to return (${size} bytes)\n`);
      continue;
    }
    const content = fs.readFileSync(p);
    const mime = MIME[path.extname(p).toLowerCase()] || 'application/octet-stream';
    send({ t: 'file', name, mime, size: content.length, b: content.toString('base64') });
  }
}

// Node's own REPL machinery, for what a notebook cell may hold: its top-level-await rewrite
// (declarations hoisted so `const x = await …` persists, the last value returned) and the
// acorn parser it bundles. Reached with --expose-internals; without them cells run as scripts.
let processTopLevelAwait = null;
let acorn = null;
try {
  processTopLevelAwait = require('internal/repl/await').processTopLevelAwait;
  acorn = require('internal/deps/acorn/acorn/dist/acorn');
} catch (_e) {
  // an older or newer Node: top-level await without a value, no static import
}

/** `import` of a cell: require() for builtins and CommonJS, import() for ES modules. */
async function importForCell(specifier) {
  let mod;
  try {
    mod = require(specifier);
  } catch (e) {
    if (!e || e.code !== 'ERR_REQUIRE_ESM') throw e;
    return import(require('url').pathToFileURL(require.resolve(specifier)).href);
  }
  if (mod !== null && (typeof mod === 'object' || typeof mod === 'function')) {
    return mod.__esModule ? mod : Object.assign(Object.create(null), mod, { default: mod });
  }
  return { default: mod };
}
sandbox.__executorImport = importForCell;

/** Names of the modules cells import: numbered across cells, since a cell's consts persist. */
let importedModules = 0;

/** Static `import` declarations of a cell become awaited dynamic imports bound with `const`. */
function rewriteImports(code) {
  if (!acorn || !/\bimport\b/.test(code)) return code;
  let ast;
  try {
    ast = acorn.parse(code, {
      ecmaVersion: 'latest',
      sourceType: 'module',
      allowAwaitOutsideFunction: true,
      allowReturnOutsideFunction: true,
      allowHashBang: true,
    });
  } catch (_e) {
    return code; // not a module: the script compiler reports what is wrong
  }
  const imports = ast.body.filter((n) => n.type === 'ImportDeclaration');
  if (imports.length === 0) return code;
  let out = '';
  let at = 0;
  imports.forEach((node) => {
    const from = `await __executorImport(${JSON.stringify(node.source.value)})`;
    const parts = [];
    const ns = `__executorModule${importedModules++}`;
    const named = node.specifiers.filter((sp) => sp.type === 'ImportSpecifier');
    const def = node.specifiers.find((sp) => sp.type === 'ImportDefaultSpecifier');
    const star = node.specifiers.find((sp) => sp.type === 'ImportNamespaceSpecifier');
    if (node.specifiers.length === 0) parts.push(`${from};`);
    else {
      parts.push(`const ${star ? star.local.name : ns} = ${from};`);
      const base = star ? star.local.name : ns;
      if (def) parts.push(`const ${def.local.name} = ${base}.default;`);
      if (named.length > 0) {
        const names = named.map((sp) => {
          const imported = sp.imported.type === 'Identifier' ? sp.imported.name : sp.imported.value;
          return imported === sp.local.name ? imported : `${JSON.stringify(imported)}: ${sp.local.name}`;
        });
        parts.push(`const { ${names.join(', ')} } = ${base};`);
      }
    }
    out += code.slice(at, node.start) + parts.join(' ');
    at = node.end;
  });
  return out + code.slice(at);
}

// TypeScript cells: the template's own `typescript` package (Debian's node-typescript) strips
// the types, one cell at a time; value imports are kept even when this cell does not use them,
// since a later cell may. Loaded on the first TypeScript cell only.
let typescript = null;
function transpileTypescript(code) {
  if (!typescript) {
    try {
      typescript = require('typescript');
    } catch (_e) {
      const e = new Error('TypeScript is not installed in this template (Debian package node-typescript)');
      e.name = 'TypeScriptUnavailable';
      throw e;
    }
  }
  const ts = typescript;
  const out = ts.transpileModule(code, {
    fileName: 'cell.ts',
    reportDiagnostics: true,
    compilerOptions: {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      isolatedModules: true,
      // TypeScript 5 spells "keep value imports" verbatimModuleSyntax; 4.x preserveValueImports.
      ...(Number(ts.versionMajorMinor.split('.')[0]) >= 5
        ? { verbatimModuleSyntax: true }
        : { preserveValueImports: true }),
      jsx: ts.JsxEmit.Preserve,
      removeComments: false,
    },
  });
  const first = (out.diagnostics || [])[0];
  if (first) {
    const where =
      first.file && first.start !== undefined ? first.file.getLineAndCharacterOfPosition(first.start) : null;
    const text = ts.flattenDiagnosticMessageText(first.messageText, '\n');
    const e = new SyntaxError(where ? `${text} (${where.line + 1}:${where.character + 1})` : text);
    e.stack = `SyntaxError: ${e.message}\n    at <cell>`;
    throw e;
  }
  return out.outputText;
}

async function runJavascript(code, typed) {
  let value;
  try {
    const source = rewriteImports(typed ? transpileTypescript(code) : code);
    let script;
    let wrapped = false;
    try {
      script = new vm.Script(source, { filename: '<cell>' });
    } catch (e) {
      if (!(e instanceof SyntaxError) || !/await/.test(String(e.message))) throw e;
      // Top-level await: Node's REPL rewrite keeps declarations and returns the last value.
      const rewritten = processTopLevelAwait ? processTopLevelAwait(source) : null;
      script = new vm.Script(rewritten || `(async () => {\n${source}\n})()`, {
        filename: '<cell>',
        lineOffset: rewritten ? 0 : -1,
      });
      wrapped = Boolean(rewritten);
    }
    value = script.runInContext(context, { displayErrors: false, breakOnSigint: true });
    if (value && typeof value.then === 'function') value = await value;
    if (wrapped) value = value && typeof value === 'object' && 'value' in value ? value.value : undefined;
    if (value !== undefined) send({ t: 'result', data: bundle(value), main: true });
    return { exitCode: 0 };
  } catch (e) {
    if (e instanceof ExitSignal) return { exitCode: e.code };
    const name = (e && e.name) || 'Error';
    const message = e && e.message !== undefined ? String(e.message) : String(e);
    const traceback = String((e && e.stack) || `${name}: ${message}`);
    err.write(traceback + '\n');
    return { exitCode: 1, error: errorOf(name, message, traceback) };
  }
}

function runBash(code, env, stdin) {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', code], {
      cwd: WORKSPACE,
      env,
      stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    if (stdin) {
      child.stdin.on('error', () => undefined);
      child.stdin.end(stdin);
    }
    child.stdout.on('data', (d) => out.write(d));
    child.stderr.on('data', (d) => err.write(d));
    const interrupt = () => child.kill('SIGKILL');
    process.once('SIGINT', interrupt);
    child.on('exit', () => process.removeListener('SIGINT', interrupt));
    child.on('error', (e) => {
      err.write(String(e) + '\n');
      resolve({ exitCode: 127 });
    });
    // bash has ended when it exits, even if a background job it started still holds its pipes:
    // give the pipes a moment to drain, then answer (the job's later output is not this run's).
    child.on('exit', (code, signal) => {
      const exitCode = code === null ? 128 + (signal ? 9 : 0) : code;
      let finished = false;
      const done = () => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        resolve({ exitCode });
      };
      const timer = setTimeout(done, 100);
      child.once('close', done);
    });
  });
}

class FileRefused extends Error {
  get name() {
    return 'FileRefused';
  }
}
class FileNotFound extends Error {
  get name() {
    return 'FileNotFound';
  }
}

const inside = (p) => p === WORKSPACE || p.startsWith(WORKSPACE + '/');

function entry(p) {
  const st = fs.lstatSync(p);
  const type = st.isSymbolicLink() ? 'link' : st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
  return {
    name: path.basename(p),
    path: path.relative(WORKSPACE, p),
    type,
    size: st.size,
    modified: st.mtime.toISOString(),
  };
}

/** Files of /workspace for the session API; links are never followed out of /workspace. */
function fileOp(request) {
  const target = path.normalize(path.join(WORKSPACE, request.path || '.'));
  if (!inside(target)) throw new FileRefused('path outside /workspace');
  const rel = path.relative(WORKSPACE, target) || '.';
  let real = target;
  try {
    real = fs.realpathSync(target);
  } catch (_e) {
    // does not exist yet
  }
  if (!inside(real)) throw new FileRefused('path resolves outside /workspace');
  switch (request.action) {
    case 'write': {
      const parent = path.dirname(target);
      fs.mkdirSync(parent, { recursive: true });
      if (fs.realpathSync(parent) !== parent) throw new FileRefused('path goes through a link');
      writeNew(target, Buffer.from(request.content_b64 || '', 'base64'));
      return { path: rel, size: fs.statSync(target).size };
    }
    case 'mkdir':
      fs.mkdirSync(target, { recursive: true });
      return { path: rel };
  }
  if (!fs.existsSync(target) && !fs.lstatSync(target, { throwIfNoEntry: false })) {
    throw new FileNotFound('no such file or directory: ' + rel);
  }
  switch (request.action) {
    case 'read': {
      const st = fs.statSync(real);
      if (!st.isFile()) throw new FileRefused('not a regular file: ' + rel);
      if (st.size > MAX_ARTIFACT) throw new FileRefused(`file is larger than ${MAX_ARTIFACT} bytes`);
      const content = fs.readFileSync(real);
      const mime = MIME[path.extname(target).toLowerCase()] || 'application/octet-stream';
      return { path: rel, size: content.length, mime, content_b64: content.toString('base64') };
    }
    case 'list':
      if (!fs.statSync(real).isDirectory()) throw new FileRefused('not a directory: ' + rel);
      return {
        path: rel,
        entries: fs
          .readdirSync(target)
          .sort()
          .map((n) => entry(path.join(target, n))),
      };
    case 'delete':
      if (target === WORKSPACE) throw new FileRefused('cannot delete /workspace itself');
      fs.rmSync(target, { recursive: true, force: true });
      return { path: rel };
    default:
      throw new FileRefused('unknown file operation');
  }
}

function handleFiles(request) {
  try {
    send({ t: 'files', ...fileOp(request) });
    send({ t: 'done', exit_code: 0, stdout_bytes: 0, stderr_bytes: 0 });
  } catch (e) {
    const name = e instanceof FileNotFound || e instanceof FileRefused ? e.name : 'FileRefused';
    send({ t: 'error', name, value: String(e.message), traceback: '' });
    send({ t: 'done', exit_code: 1, stdout_bytes: 0, stderr_bytes: 0 });
  }
}

async function handle(request) {
  runId = typeof request.run === 'string' ? request.run : null;
  if (request.op === 'files') return handleFiles(request);
  if (request.op === 'reset') {
    // A restart of this context: a new global scope, the builtins as they were at start.
    const globals = { ...freshGlobals };
    globals.global = globals;
    globals.globalThis = globals;
    context = vm.createContext(globals);
    send({ t: 'done', exit_code: 0, stdout_bytes: 0, stderr_bytes: 0 });
    return;
  }
  out.reset();
  err.reset();
  let outcome;
  // The run's variables are the run's: what they replaced comes back after it.
  const env = request.env && typeof request.env === 'object' ? request.env : {};
  const savedEnv = Object.keys(env).map((k) => [
    k,
    Object.prototype.hasOwnProperty.call(process.env, k) ? process.env[k] : undefined,
  ]);
  try {
    writeFiles(request.files);
    Object.assign(process.env, env);
    const before = snapshotOutputs();
    outcome =
      request.language === 'bash'
        ? await runBash(
            request.code,
            { ...process.env },
            typeof request.stdin === 'string' ? request.stdin : '',
          )
        : await runJavascript(request.code, request.language === 'typescript');
    sendNewOutputs(before);
  } catch (e) {
    outcome = { exitCode: 1, error: errorOf(e.name || 'Error', String(e.message), String(e.stack)) };
    err.write(String(e.stack) + '\n');
  }
  for (const [k, v] of savedEnv) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  if (outcome.error) send({ t: 'error', ...outcome.error });
  send({
    t: 'done',
    exit_code: outcome.exitCode,
    stdout_bytes: out.total,
    stderr_bytes: err.total,
    stdout_truncated: out.truncated,
    stderr_truncated: err.truncated,
  });
}

for (const m of (process.env.EXECUTOR_PRELOAD || '').split(',').filter(Boolean)) {
  try {
    require(m);
  } catch (e) {
    err.write(`executor: could not preload ${m}: ${e}\n`);
  }
}
// A context started beside the sandbox's first kernel may work in a folder of its own.
try {
  fs.mkdirSync(process.env.EXECUTOR_CWD || WORKSPACE, { recursive: true });
  process.chdir(process.env.EXECUTOR_CWD || WORKSPACE);
} catch (_e) {
  process.chdir(WORKSPACE);
}
// An interrupt stops the running code (breakOnSigint); when idle it must not end the kernel.
process.on('SIGINT', () => undefined);
process.on('uncaughtException', (e) => err.write(`${(e && e.stack) || e}\n`));
process.on('unhandledRejection', (e) => err.write(`${(e && e.stack) || e}\n`));

let buffered = '';
const queue = [];
let busy = false;
async function drain() {
  if (busy) return;
  busy = true;
  while (queue.length > 0) await handle(queue.shift());
  busy = false;
}
process.stdin.on('data', (chunk) => {
  buffered += chunk.toString('utf8');
  let nl;
  while ((nl = buffered.indexOf('\n')) >= 0) {
    const line = buffered.slice(0, nl);
    buffered = buffered.slice(nl + 1);
    if (!line.trim()) continue;
    try {
      queue.push(JSON.parse(line));
    } catch (_e) {
      // not a request: the runner only sends JSON lines
    }
  }
  void drain();
});
process.stdin.on('end', () => realExit(0));
freshGlobals = { ...sandbox };
send({ t: 'ready', pid: process.pid });
