import Database from 'better-sqlite3';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseQueryString, type ParsedUrlQuery } from 'node:querystring';
import { SCOPE_PATTERN, TEMPLATE_NAME_PATTERN, TENANT_PATTERN } from '@executor/contracts';
import { stackInfo, type StoredEvent } from './client';

/**
 * Fuzzes every route with a few thousand generated malformed requests, on the real stack.
 *
 * Every answer must be a 4xx with the error shape and no stack trace, the API must still be
 * healthy afterwards, and the event store must not gain a single event from the fuzzing.
 *
 * Generation is deterministic: FUZZ_SEED (default below) and FUZZ_CASES pick the cases, and a
 * failure names the seed and the case number. No generated request can be a valid one: each is
 * checked, after all its mutations, by a `mustFail` rule that proves it invalid (a required field
 * of a wrong type or format, a session id that cannot exist, a template name nobody registered),
 * and is poisoned again until the proof holds. A valid request would run code or append events.
 */

const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed1e55) >>> 0;
const CASES = Number(process.env.FUZZ_CASES ?? 3000);
const CONCURRENCY = 16;
const REQUEST_TIMEOUT_MS = 20000;
/** Every fuzz request carries `X-Request-ID: <prefix><n>`: it becomes the correlation id of any event. */
const ID_PREFIX = `fuzz-${SEED.toString(16)}-`;
/**
 * Node answers a request whose head is over 16 KB with a bare 431 before the API sees it:
 * query values are generated up to 8 KB, and shortened until the whole URL fits in 12 KB.
 */
const MAX_QUERY_VALUE = 8000;
const MAX_URL = 12000;
const STACK_TRACE = /at \S+\.js:\d+|node_modules/;
/** Events the stack appends by itself (sweeper, image builds, runner start), never for a request. */
const BACKGROUND_EVENTS = new Set([
  'SessionExpired',
  'SessionLost',
  'RunnerStarted',
  'TemplateBuildStarted',
  'TemplateBuilt',
  'TemplateBuildFailed',
]);

// ---------------------------------------------------------------- deterministic randomness

class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** mulberry32 */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** A version-4 UUID: random, so no session can have it. */
  uuid(): string {
    const hex = (n: number) => Array.from({ length: n }, () => this.int(16).toString(16)).join('');
    return `${hex(8)}-${hex(4)}-4${hex(3)}-${'89ab'[this.int(4)]}${hex(3)}-${hex(12)}`;
  }
}

// ---------------------------------------------------------------- value pools

const UNICODE = [
  '😀🔥💥',
  '👩‍👩‍👧‍👦',
  'مرحبا بالعالم',
  'שלום',
  '\u202Eevil.txt\u202C',
  'a\u200Bb',
  '\u200D\u200C\uFEFF',
  '\ud800',
  '\udfff',
  'x\ud83dy',
  '\ud800\ud800\udc00',
  'é\u0301\u0301\u0301',
  '\u0007\u001b[31mred',
  '\uFFFF\uFFFE',
];
const NUL = ['\u0000', 'a\u0000b', 'a.txt\u0000.sh', '\u0000'.repeat(64)];
const NASTY = [
  '',
  ' ',
  '\t\r\n',
  'null',
  'undefined',
  'true',
  '0',
  '-1',
  'NaN',
  '${jndi:ldap://x/a}',
  "'; DROP TABLE events; --",
  '<script>alert(1)</script>',
  '%00',
  '%s%s%n',
  '{{7*7}}',
  '__proto__',
  'constructor',
  '\\',
  '"',
  '\r\n\r\nHTTP/1.1 200 OK',
];
const PATHS = [
  '../../etc/passwd',
  '..',
  '.',
  './a.txt',
  'a/../../b',
  '/etc/passwd',
  '/workspace/../etc/shadow',
  '..\\..\\windows\\system32',
  'a\\b',
  '%2e%2e/%2e%2e/etc/passwd',
  '..%2f..%2fetc',
  'a//b',
  'a/./b',
  '.bashrc',
  '-rf',
  'x.sh',
  'run.EXE',
  'a'.repeat(300),
  'a\u0000b',
  '~/x',
  'C:\\x',
  'file:///etc/passwd',
  '\u202Egnp.exe',
  '',
  ' ',
  '/',
  'a/',
  '…/…/',
];
const INVALID_SESSION_IDS = [
  '',
  'x',
  '1',
  '00000000-0000-0000-0000-000000000000',
  '6ba7b810-9dad-11d1-80b4-00c04fd430c8',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  'zzzzzzzz-zzzz-4zzz-8zzz-zzzzzzzzzzzz',
  '../../etc/passwd',
  'session-1',
];
const SCALARS: unknown[] = [
  0,
  -1,
  1,
  1.5,
  -0.0001,
  1e308,
  -1e308,
  2 ** 53 + 2,
  4294967296,
  true,
  false,
  null,
];
const CONTENT_TYPES = [
  'text/plain',
  'application/x-www-form-urlencoded',
  'application/xml',
  'application/octet-stream',
  'multipart/form-data',
  'multipart/form-data; boundary=zz',
  'application/json; charset=utf-16',
  'application/json; charset=latin1',
  'application/jsonx',
  'application/ld+json',
  'text/json',
  'json',
  '*/*',
  'APPLICATION/JSON',
  'application/json;;;',
];

const ACCEPT = [
  'application/x-ndjson',
  'text/event-stream',
  'text/event-stream, application/x-ndjson',
  'application/json',
  '*/*',
  'text/html',
  '\u00ff\u00fe',
];

type Body = Record<string, unknown>;

/** Sets a key as an own property, `__proto__` included (plain assignment would set the prototype). */
function setKey(obj: Body, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function hugeString(rng: Rng, max = 100_000): string {
  const length = Math.min(max, rng.pick([1024, 10_000, 65_536, 100_000]));
  const unit = rng.pick(['x', '😀', '\u0000', 'é', '/', '../', '\ud800']);
  return unit.repeat(Math.ceil(length / unit.length)).slice(0, length);
}

function weirdString(rng: Rng): string {
  const pool = rng.pick([UNICODE, NUL, NASTY, PATHS]);
  return rng.pick(pool);
}

/** Deep nesting, built iteratively: arrays, objects or both, 2,000 levels or so. */
function deepValue(rng: Rng, depth = rng.pick([500, 1000, 2000, 2000, 3000])): unknown {
  const shape = rng.pick(['array', 'object', 'mixed'] as const);
  let value: unknown = rng.pick(['x', 1, null]);
  for (let i = 0; i < depth; i++) {
    if (shape === 'array' || (shape === 'mixed' && i % 2 === 0)) value = [value];
    else value = { a: value };
  }
  return value;
}

function junkObject(rng: Rng, depth: number): Body {
  const obj: Body = {};
  const n = rng.int(4);
  for (let i = 0; i < n; i++)
    setKey(obj, rng.pick([...NASTY, ...UNICODE, 'a', 'path']), junk(rng, depth + 1));
  return obj;
}

function junk(rng: Rng, depth = 0): unknown {
  switch (rng.int(10)) {
    case 0:
    case 1:
      return rng.pick(SCALARS);
    case 2:
      return (rng.chance(0.5) ? -1 : 1) * rng.int(2 ** 31);
    case 3:
      return rng.next() * 1e6;
    case 4:
    case 5:
      return weirdString(rng);
    case 6:
      return depth > 2 ? [] : Array.from({ length: rng.int(4) }, () => junk(rng, depth + 1));
    case 7:
      return depth > 2 ? {} : junkObject(rng, depth);
    case 8:
      return rng.chance(0.1) ? hugeString(rng) : rng.pick(['', [], {}]);
    default:
      return rng.chance(0.5);
  }
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** A value of another JSON type than `current`. */
function wrongType(rng: Rng, current: unknown): unknown {
  for (;;) {
    const v = junk(rng);
    if (jsonType(v) !== jsonType(current)) return v;
  }
}

// ---------------------------------------------------------------- proofs of invalidity

const isObject = (v: unknown): v is Body => typeof v === 'object' && v !== null && !Array.isArray(v);
const badTenant = (v: unknown) => typeof v !== 'string' || !TENANT_PATTERN.test(v);
const badCode = (v: unknown) => typeof v !== 'string' || v.length === 0;
const badScope = (v: unknown) => typeof v !== 'string' || !SCOPE_PATTERN.test(v);
const badTemplateName = (v: unknown) => typeof v !== 'string' || !TEMPLATE_NAME_PATTERN.test(v);

function invalidTenant(rng: Rng): unknown {
  const v = rng.pick<() => unknown>([
    () => wrongType(rng, ''),
    () => '',
    () => 'x'.repeat(65 + rng.int(200)),
    () => rng.pick(['-lead', '.lead', '_lead', 'has space', 'a/b', 'a:b', 'tenant\n', 'ténant']),
    () => weirdString(rng),
    () => hugeString(rng),
  ])();
  return typeof v === 'string' && TENANT_PATTERN.test(v) ? `${v}!` : v;
}

function invalidCode(rng: Rng): unknown {
  return rng.chance(0.3) ? '' : wrongType(rng, '');
}

function invalidScope(rng: Rng): unknown {
  const v = rng.pick<() => unknown>([
    () => wrongType(rng, ''),
    () => '',
    () => 'x'.repeat(257 + rng.int(100)),
    () => rng.pick(['has space', '😀', 'a\u0000b', '#', 'a?b', 'scope\n']),
  ])();
  return typeof v === 'string' && SCOPE_PATTERN.test(v) ? `${v} !` : v;
}

function invalidTemplateName(rng: Rng): unknown {
  const v = rng.pick<() => unknown>([
    () => wrongType(rng, ''),
    () => rng.pick(['', 'A', 'x', 'Bad_Name', '-a', '1abc', 'a b', '../default', 'default\u0000', '😀']),
    () => 'a'.repeat(41 + rng.int(100)),
    () => weirdString(rng),
  ])();
  return typeof v === 'string' && TEMPLATE_NAME_PATTERN.test(v) ? `${v}_` : v;
}

function invalidSessionId(rng: Rng): unknown {
  const id = rng.uuid();
  return rng.pick<() => unknown>([
    () => rng.pick(INVALID_SESSION_IDS),
    () => `${id}0`,
    () => `{${id}}`,
    () => `urn:uuid:${id}`,
    () => id.replace(/-/g, ''),
    () => ` ${id}`,
    () => wrongType(rng, ''),
    () => [id],
    () => weirdString(rng),
  ])();
}

/** A session id: random (so unknown to the service) or malformed. Never one of a real session. */
function sessionId(rng: Rng): unknown {
  return rng.chance(0.6) ? rng.uuid() : invalidSessionId(rng);
}

// ---------------------------------------------------------------- routes with JSON bodies

interface PostRoute {
  path: string;
  /** Valid-looking values of every known field. */
  plausible: Record<string, (rng: Rng) => unknown>;
  required: readonly string[];
  /** Make the body surely invalid; returns a tag naming what was broken. */
  poison: (rng: Rng, body: Body) => string;
  /** True only when the body is certain to be refused (or to name a session that cannot exist). */
  mustFail: (body: unknown) => boolean;
}

const file = (rng: Rng) => [{ path: rng.pick(['a.txt', 'data/x.csv']), content: 'x' }];

const SESSION_REF = {
  session_id: (rng: Rng) => rng.uuid(),
  tenant_id: () => 'fuzz-tenant',
};

/** Session routes: every session id we send is random or malformed, so every request is refused. */
const sessionPoison = (rng: Rng, body: Body): string => {
  if (rng.chance(0.5)) {
    delete body.session_id;
    return 'missing-field';
  }
  setKey(body, 'session_id', invalidSessionId(rng));
  return 'bad-session-id';
};

/**
 * Poisons one of two required fields: the tenant, the other field (`bad-<label>`), or drops one
 * of them (`missing-field`), one in three each.
 */
const tenantAnd =
  (field: string, label: string, invalid: (rng: Rng) => unknown) =>
  (rng: Rng, body: Body): string => {
    const which = rng.int(3);
    if (which === 0) {
      setKey(body, 'tenant_id', invalidTenant(rng));
      return 'bad-tenant';
    }
    if (which === 1) {
      setKey(body, field, invalid(rng));
      return `bad-${label}`;
    }
    delete body[rng.pick(['tenant_id', field])];
    return 'missing-field';
  };

const POST_ROUTES: PostRoute[] = [
  {
    path: '/execute',
    plausible: {
      tenant_id: () => 'fuzz-tenant',
      scope: () => 'default',
      code: () => 'print(1)',
      language: () => 'python',
      template: () => 'default',
      files: file,
      timeout: () => 5,
      env: () => ({ A: '1' }),
      stream: () => true,
      runtime: () => 'runsc',
    },
    required: ['tenant_id', 'code'],
    poison: tenantAnd('code', 'code', invalidCode),
    mustFail: (b) => !isObject(b) || badTenant(b.tenant_id) || badCode(b.code),
  },
  {
    path: '/session/create',
    plausible: {
      tenant_id: () => 'fuzz-tenant',
      scope: () => 'default',
      template: () => 'default',
      ttl: () => 60,
      metadata: () => ({ k: 'v' }),
      reuse: () => false,
    },
    required: ['tenant_id', 'scope'],
    poison: tenantAnd('scope', 'scope', invalidScope),
    mustFail: (b) => !isObject(b) || badTenant(b.tenant_id) || badScope(b.scope),
  },
  {
    path: '/session/execute',
    plausible: {
      ...SESSION_REF,
      code: () => 'print(1)',
      language: () => 'python',
      files: file,
      timeout: () => 5,
      stream: () => true,
    },
    required: ['session_id', 'code'],
    poison: sessionPoison,
    mustFail: () => true,
  },
  {
    path: '/session/destroy',
    plausible: { ...SESSION_REF },
    required: ['session_id'],
    poison: sessionPoison,
    mustFail: () => true,
  },
  {
    path: '/session/files/upload',
    plausible: {
      ...SESSION_REF,
      path: () => 'a.txt',
      content: () => 'x',
      encoding: (rng) => rng.pick(['utf8', 'base64']),
    },
    required: ['session_id', 'path', 'content'],
    poison: sessionPoison,
    mustFail: () => true,
  },
  {
    path: '/session/files/delete',
    plausible: { ...SESSION_REF, path: () => 'a.txt' },
    required: ['session_id', 'path'],
    poison: sessionPoison,
    mustFail: () => true,
  },
  {
    path: '/session/files/mkdir',
    plausible: { ...SESSION_REF, path: () => 'dir' },
    required: ['session_id', 'path'],
    poison: sessionPoison,
    mustFail: () => true,
  },
  {
    path: '/templates',
    plausible: {
      name: (rng) => `zz-fuzz-${rng.int(1e9)}`,
      description: () => 'fuzz',
      base: () => 'default',
      packages: () => ({ pip: ['requests'] }),
      memory_limit: () => '512m',
      cpu_limit: () => 1,
      timeout: () => 30,
      network: () => false,
      env: () => ({ A: '1' }),
      setup_commands: () => ['true'],
    },
    required: ['name', 'base'],
    poison: (rng, body) => {
      const key = rng.pick(['name', 'base']);
      if (rng.chance(0.3)) {
        delete body[key];
        return 'missing-field';
      }
      setKey(body, key, invalidTemplateName(rng));
      return `bad-${key}`;
    },
    mustFail: (b) => !isObject(b) || badTemplateName(b.name) || badTemplateName(b.base),
  },
];

type Mutation = (rng: Rng, body: Body, route: PostRoute) => string;

const knownKey = (rng: Rng, route: PostRoute) => rng.pick(Object.keys(route.plausible));

const MUTATIONS: Mutation[] = [
  (rng, body, route) => {
    const key = knownKey(rng, route);
    setKey(body, key, wrongType(rng, route.plausible[key](rng)));
    return 'wrong-type';
  },
  (rng, body, route) => {
    delete body[knownKey(rng, route)];
    return 'missing-field';
  },
  (rng, body) => {
    setKey(
      body,
      rng.pick(['sudo', 'admin', '__proto__', 'constructor', '', ...UNICODE, ...NASTY]),
      junk(rng),
    );
    return 'unknown-field';
  },
  (rng, body, route) => {
    setKey(body, knownKey(rng, route), null);
    return 'null';
  },
  (rng, body, route) => {
    setKey(body, rng.chance(0.8) ? knownKey(rng, route) : 'padding', hugeString(rng));
    return 'huge-string';
  },
  (rng, body, route) => {
    setKey(body, knownKey(rng, route), rng.pick(UNICODE));
    return 'unicode';
  },
  (rng, body, route) => {
    setKey(body, knownKey(rng, route), rng.pick(NUL));
    return 'nul-bytes';
  },
  (rng, body, route) => {
    setKey(body, rng.chance(0.5) ? knownKey(rng, route) : 'nested', deepValue(rng));
    return 'deep-nesting';
  },
  (rng, body, route) => {
    const path = rng.pick(PATHS);
    if ('path' in route.plausible) setKey(body, 'path', path);
    else if ('files' in route.plausible) setKey(body, 'files', [{ path, content: 'x' }]);
    else setKey(body, 'path', path);
    return 'path-traversal';
  },
  (rng, body, route) => {
    const nestedKeys = ['files', 'metadata', 'env', 'packages'].filter((k) => k in route.plausible);
    if (nestedKeys.length === 0) {
      setKey(body, knownKey(rng, route), junkObject(rng, 0));
      return 'wrong-type';
    }
    const key = rng.pick(nestedKeys);
    setKey(
      body,
      key,
      rng.pick<() => unknown>([
        () => [junk(rng), junk(rng)],
        () => [{ path: junk(rng), content: junk(rng), encoding: junk(rng) }],
        () => Array.from({ length: 101 + rng.int(50) }, () => ({ path: 'a.txt', content: 'x' })),
        () => ({ [rng.pick(NASTY)]: junk(rng), 'BAD KEY': 'x', A: junk(rng) }),
        () => ({ apt: [junk(rng)], pip: ['x; rm -rf /'], npm: junk(rng) }),
        () => Object.fromEntries(Array.from({ length: 70 }, (_, i) => [`K${i}`, 'v'])),
      ])(),
    );
    return 'bad-nested';
  },
  (rng, body, route) => {
    setKey(body, 'session_id', invalidSessionId(rng));
    return 'session_id' in route.plausible ? 'bad-session-id' : 'unknown-field';
  },
];

// ---------------------------------------------------------------- requests

interface FuzzRequest {
  id: number;
  route: string;
  tags: string[];
  method: string;
  /** Path and query, as sent. */
  url: string;
  contentType?: string;
  /** Streaming runs are asked for with Accept: NDJSON or server-sent events. */
  accept?: string;
  body?: string | Uint8Array;
}

interface Outcome {
  req: FuzzRequest;
  status: number;
  text: string;
  problem?: string;
}

/** Wrong JSON text of a body that is itself certified invalid; the result is checked again. */
function invalidJsonText(rng: Rng, text: string): string {
  return rng.pick<() => string>([
    () => text.slice(0, Math.max(1, rng.int(text.length))),
    () => text + rng.pick(['}', ',', 'x', ' {"a":1}', '\u0000', ']']),
    () => text.replace(/"/g, "'"),
    () => text.replace(/}$/, ',}'),
    () => text.replace(/:/, ': NaN, "x":'),
    () => `{${text}}`,
    () => {
      const i = rng.int(text.length);
      return (
        text.slice(0, i) + rng.pick(['{', '}', '[', ']', '"', ':', ',', '\\', '\u0000']) + text.slice(i + 1)
      );
    },
    () =>
      rng.pick([
        '{',
        '}',
        '{"a":1,}',
        "{'a':1}",
        '{a:1}',
        '{"a":01}',
        '{"a":"\\x41"}',
        '{"a":"\\u12"}',
        '{"a":"unterminated}',
        '{"a":Infinity}',
        '{"a":undefined}',
        '/* comment */{}',
        '{"a":1}//',
        '{"a":1}{"b":2}',
        '\u0000',
        ' ',
        'NaN',
        'tenant_id=t&code=1',
        '<xml/>',
      ]),
  ])();
}

function parses(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text.replace(/^\uFEFF/, '')) as unknown };
  } catch {
    return { ok: false };
  }
}

function postCase(rng: Rng, id: number, route: PostRoute): FuzzRequest {
  const tags: string[] = [];
  const body: Body = {};
  for (const [key, make] of Object.entries(route.plausible)) {
    if (rng.chance(route.required.includes(key) ? 0.9 : 0.4)) setKey(body, key, make(rng));
  }
  const n = 1 + rng.int(3);
  for (let i = 0; i < n; i++) tags.push(rng.pick(MUTATIONS)(rng, body, route));
  // The guarantee: poison until the body is proven invalid.
  if (rng.chance(0.3) || !route.mustFail(body)) tags.push(route.poison(rng, body));
  while (!route.mustFail(body)) tags.push(route.poison(rng, body));
  const certified = JSON.stringify(body);

  let text: string | Uint8Array = certified;
  let contentType: string | undefined = 'application/json';
  const form = rng.int(20);
  if (form === 0 || form === 1) {
    tags.push('invalid-json');
    text = invalidJsonText(rng, certified);
  } else if (form === 2) {
    tags.push('non-object-json');
    text = rng.pick([
      '[]',
      '[{"tenant_id":"t","code":"print(1)"}]',
      '1',
      '-0',
      '"string"',
      'null',
      'true',
      `"${'x'.repeat(100_000)}"`,
      `[${certified}]`,
    ]);
  } else if (form === 3) {
    tags.push('duplicate-keys');
    // Earlier keys lose to later ones: the poisoned values still win.
    const valid =
      '"tenant_id":"fuzz-tenant","code":"print(1)","scope":"default","name":"zz-fuzz-dup","base":"default"';
    text = certified === '{}' ? `{${valid}}` : `{${valid},${certified.slice(1)}`;
  } else if (form === 4 || form === 5) {
    tags.push('wrong-content-type');
    contentType = rng.pick(CONTENT_TYPES);
  } else if (form === 6) {
    tags.push('no-content-type');
    contentType = undefined;
    text = new Uint8Array(Buffer.from(certified));
  } else if (form === 7) {
    tags.push('empty-body');
    text = rng.pick(['', ' ', '\r\n']);
  } else if (form === 8) {
    tags.push('bom-or-padding');
    text = rng.pick(['\uFEFF', ' \n\t', '\r\n\r\n']) + certified + rng.pick(['', '\n', '   ']);
  } else if (form === 9) {
    tags.push('invalid-utf8');
    text = new Uint8Array(
      Buffer.concat([Buffer.from(certified.slice(0, -1)), Buffer.from(',"x":"'), Buffer.from([0xff, 0xfe, 0xc0, 0xae, 0xed, 0xa0, 0x80]), Buffer.from('"}')]), // prettier-ignore
    );
  }
  // The safety net: text that parses must still be a proven-invalid body.
  if (typeof text === 'string') {
    const parsed = parses(text);
    if (parsed.ok && !route.mustFail(parsed.value)) {
      tags.push('reverted-to-certified');
      text = certified;
    }
  }
  const accept = rng.chance(0.3) ? rng.pick(ACCEPT) : undefined;
  return {
    id,
    route: `POST ${route.path}`,
    tags,
    method: 'POST',
    url: route.path,
    contentType,
    accept,
    body: text,
  };
}

/** Whole bodies nested 2,000 levels deep, and other hand-picked cases, for every POST route. */
function corpusFor(route: PostRoute, nextId: () => number): FuzzRequest[] {
  const make = (tag: string, body: string, contentType = 'application/json'): FuzzRequest => ({
    id: nextId(),
    route: `POST ${route.path}`,
    tags: ['corpus', tag],
    method: 'POST',
    url: route.path,
    contentType,
    body,
  });
  const nest = (n: number, open: string, close: string) => open.repeat(n) + '1' + close.repeat(n);
  const base =
    route.path === '/execute' ? '"tenant_id":5,"code":"x"' : '"tenant_id":5,"session_id":"x","name":5';
  return [
    make('deep-nesting', `{${base},"x":${nest(2000, '[', ']')}}`),
    make('deep-nesting', `{${base},"x":${nest(2000, '{"a":', '}')}}`),
    make('deep-nesting', `{${base},"x":${nest(1000, '[{"a":', '}]')}}`),
    make('deep-nesting', nest(2000, '{"a":', '}')),
    make('deep-nesting', nest(2000, '[', ']')),
    make('unicode', `{${base},"x":"\\ud800\\udfff\\ud83d","y":"\\u202e\\u200b\\ufeff"}`),
    make('nul-bytes', `{${base},"path":"a\\u0000b","content":"\\u0000"}`),
    make('huge-string', `{${base},"x":"${'x'.repeat(100_000)}"}`),
    make('empty-body', ''),
    make('non-object-json', '[]'),
    make('non-object-json', 'null'),
    make('invalid-json', '{"tenant_id":'),
  ];
}

// ---------------------------------------------------------------- multipart uploads

/** Unknown fields; multer turns `a[b]` into nested objects, at any depth. */
const MULTIPART_FIELD_NAMES = [
  'sudo',
  'a[b][c]',
  'x[constructor]',
  'x[0][constructor]',
  '__proto__',
  'constructor',
  'x'.repeat(300),
  `a${'[a]'.repeat(2000)}`,
];

function multipartCase(rng: Rng, id: number): FuzzRequest {
  const tags = ['multipart'];
  const boundary = `fz${rng.int(1e9)}`;
  const parts: string[] = [];
  const field = (name: string, value: string) =>
    `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  const sid = sessionId(rng);
  if (rng.chance(0.85)) parts.push(field('session_id', typeof sid === 'string' ? sid : JSON.stringify(sid)));
  if (rng.chance(0.6)) parts.push(field('path', rng.pick(PATHS)));
  if (rng.chance(0.3)) parts.push(field('tenant_id', String(invalidTenant(rng))));
  if (rng.chance(0.3)) parts.push(field(rng.pick(MULTIPART_FIELD_NAMES), 'x'));
  const fileParts = rng.pick([0, 1, 1, 1, 2]);
  for (let i = 0; i < fileParts; i++) {
    const name = rng.chance(0.8) ? 'file' : rng.pick(['other', '', 'files[]']);
    const filename = rng.pick([...PATHS, 'a.txt', '😀.txt']).replace(/"/g, '');
    parts.push(
      `--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${filename}"\r\n` +
        `Content-Type: application/octet-stream\r\n\r\n${rng.chance(0.1) ? hugeString(rng) : 'hello'}\r\n`,
    );
  }
  let body = parts.join('') + `--${boundary}--\r\n`;
  let contentType = `multipart/form-data; boundary=${boundary}`;
  switch (rng.int(8)) {
    case 0:
      tags.push('truncated');
      body = body.slice(0, rng.int(body.length));
      break;
    case 1:
      tags.push('no-boundary');
      contentType = 'multipart/form-data';
      break;
    case 2:
      tags.push('wrong-boundary');
      contentType = 'multipart/form-data; boundary=nope';
      break;
    case 3:
      tags.push('garbage-headers');
      body = body.replace(/Content-Disposition: form-data;/, 'Content-Disposition\u0000: ;;;');
      break;
    default:
      break;
  }
  return {
    id,
    route: 'POST /session/files/upload',
    tags,
    method: 'POST',
    url: '/session/files/upload',
    contentType,
    body,
  };
}

// ---------------------------------------------------------------- routes with query strings

/** Percent-encodes, or sometimes not: lone surrogates become bytes that are not UTF-8. */
function enc(rng: Rng, s: string): string {
  if (rng.chance(0.1)) return s.replace(/[#&=\s]/g, (c) => encodeURIComponent(c));
  try {
    return encodeURIComponent(s);
  } catch {
    return s.replace(/[\ud800-\udfff]/g, '%ED%A0%80').replace(/[^\w%-]/g, (c) => encodeURIComponent(c));
  }
}

function queryValue(rng: Rng): string {
  return rng.pick<() => string>([
    () => weirdString(rng),
    () => String(rng.pick(SCALARS)),
    () => hugeString(rng, MAX_QUERY_VALUE),
    () => rng.uuid(),
    () => rng.pick(PATHS),
  ])();
}

/** Object.prototype members (and `__proto__`) are dropped by class-transformer, not refused. */
const provesUnknown = (key: string, known: readonly string[]) =>
  key !== '' && !known.includes(key) && key !== '__proto__' && !(key in Object.prototype);

interface QueryRoute {
  path: string;
  params: Record<string, (rng: Rng) => string>;
  poison: (rng: Rng) => [string, string];
  mustFail: (q: ParsedUrlQuery) => boolean;
}

const ADMIN_KEYS = [
  'stream',
  'type',
  'tenant',
  'stream_type',
  'from',
  'to',
  'after_position',
  'before_position',
  'limit',
  'order',
];

/** Mirrors AdminEventsQueryDto, but only where refusal is certain. */
function adminQueryInvalid(q: ParsedUrlQuery): boolean {
  const int = (v: string) => Number.isInteger(Number(v));
  for (const [key, value] of Object.entries(q)) {
    if (provesUnknown(key, ADMIN_KEYS)) return true;
    if (!ADMIN_KEYS.includes(key) || value === undefined) continue;
    if (Array.isArray(value)) return true;
    const v = value;
    if (key === 'stream' && v.length > 200) return true;
    if (key === 'type' && !/^[A-Z][A-Za-z]{1,63}$/.test(v)) return true;
    if (key === 'tenant' && v.length > 100) return true;
    if (key === 'stream_type' && !['execution', 'session', 'template', 'sandbox', 'runner'].includes(v))
      return true;
    if (key === 'after_position' && (!int(v) || Number(v) < 0)) return true;
    if (key === 'before_position' && (!int(v) || Number(v) < 1)) return true;
    if (key === 'limit' && (!int(v) || Number(v) < 1 || Number(v) > 1000)) return true;
    if (key === 'order' && v !== 'asc' && v !== 'desc') return true;
  }
  return false;
}

const QUERY_ROUTES: QueryRoute[] = [
  {
    path: '/session/files/download',
    params: {
      session_id: (rng) => rng.uuid(),
      tenant_id: () => 'fuzz-tenant',
      path: () => 'a.txt',
      format: (rng) => rng.pick(['raw', 'json']),
    },
    poison: (rng) => ['session_id', String(invalidSessionId(rng))],
    mustFail: () => true,
  },
  {
    path: '/session/files/list',
    params: { session_id: (rng) => rng.uuid(), tenant_id: () => 'fuzz-tenant', path: () => '' },
    poison: (rng) => ['session_id', String(invalidSessionId(rng))],
    mustFail: () => true,
  },
  {
    path: '/sessions',
    params: { tenant_id: () => 'fuzz-tenant' },
    poison: (rng) =>
      rng.chance(0.7) ? ['tenant_id', String(invalidTenant(rng)).slice(0, MAX_QUERY_VALUE)] : ['sudo', '1'],
    mustFail: (q) => badTenant(q.tenant_id) || Object.keys(q).some((k) => provesUnknown(k, ['tenant_id'])),
  },
  {
    path: '/admin/events',
    params: {
      stream: () => 'session-x',
      type: () => 'SessionCreated',
      tenant: () => 'fuzz-tenant',
      stream_type: () => 'session',
      from: () => '2020-01-01T00:00:00Z',
      to: () => '2030-01-01T00:00:00Z',
      after_position: () => '0',
      before_position: () => '10',
      limit: () => '10',
      order: () => 'asc',
    },
    poison: (rng) =>
      rng.pick<[string, string]>([
        ['limit', rng.pick(['0', '1001', 'abc', '-1', '1.5', '', 'NaN', '1e400'])],
        ['order', rng.pick(['sideways', 'ASC', '', 'asc;desc'])],
        ['type', rng.pick(['sessionCreated', 'X', '', 'Session Created', '😀'])],
        ['stream_type', rng.pick(['nope', '', 'SESSION'])],
        ['after_position', rng.pick(['-1', 'x', '0.5'])],
        ['before_position', rng.pick(['0', '-5', 'y'])],
        ['stream', 's'.repeat(201 + rng.int(500))],
        ['sudo', '1'],
      ]),
    mustFail: adminQueryInvalid,
  },
];

function queryCase(rng: Rng, id: number, route: QueryRoute, apiUrl: string): FuzzRequest {
  const tags: string[] = [];
  const pairs: [string, string][] = [];
  for (const [key, make] of Object.entries(route.params)) if (rng.chance(0.6)) pairs.push([key, make(rng)]);
  const keys = Object.keys(route.params);
  const n = 1 + rng.int(3);
  for (let i = 0; i < n; i++) {
    switch (rng.int(6)) {
      case 0:
        tags.push('duplicate-param');
        pairs.push([rng.pick(keys), queryValue(rng)]);
        break;
      case 1:
        tags.push('unknown-param');
        pairs.push([
          rng.pick(['sudo', 'zzz', '__proto__', 'constructor', '', ...UNICODE, ...NASTY]),
          queryValue(rng),
        ]);
        break;
      case 2:
        tags.push('bracket-key');
        pairs.push([`${rng.pick(keys)}${rng.pick(['[]', '[0]', '[a][b]', '[__proto__]'])}`, queryValue(rng)]);
        break;
      case 3: {
        tags.push('bad-value');
        const key = rng.pick(keys);
        const at = pairs.findIndex(([k]) => k === key);
        if (at >= 0) pairs[at] = [key, queryValue(rng)];
        else pairs.push([key, queryValue(rng)]);
        break;
      }
      case 4:
        tags.push('missing-param');
        if (pairs.length > 0) pairs.splice(rng.int(pairs.length), 1);
        break;
      default:
        tags.push('path-traversal');
        pairs.push(['path', rng.pick(PATHS)]);
    }
  }
  const build = () => {
    for (;;) {
      let qs = pairs.map(([k, v]) => `${enc(rng, k)}=${enc(rng, v)}`).join('&');
      if (rng.chance(0.05)) qs += rng.pick(['&&&', '&=', '&%zz=%', '&%E0%A4%A=1', '&a=%ED%A0%80']);
      // Measured as sent: fetch percent-encodes what enc() left raw.
      if (new URL(`${apiUrl}${route.path}?${qs}`).search.length < MAX_URL) return `${route.path}?${qs}`;
      // Percent-encoding makes a value up to 9 times longer: halve the longest and encode again.
      const longest = pairs.reduce((a, b) => (b[0].length + b[1].length > a[0].length + a[1].length ? b : a));
      [longest[0], longest[1]] = [
        longest[0].slice(0, longest[0].length >> 1),
        longest[1].slice(0, longest[1].length >> 1),
      ];
    }
  };
  let url = build();
  const sent = (u: string) => parseQueryString(new URL(apiUrl + u).search.slice(1));
  if (rng.chance(0.3) || !route.mustFail(sent(url))) {
    pairs.push(route.poison(rng));
    tags.push('poisoned');
    url = build();
  }
  while (!route.mustFail(sent(url))) {
    pairs.push(route.poison(rng));
    url = build();
  }
  return { id, route: `GET ${route.path}`, tags, method: 'GET', url };
}

// ---------------------------------------------------------------- routes with a path parameter

const RAW_SEGMENTS = [
  '%E0%A4%A',
  '%ED%A0%80',
  '%C0%AE',
  '%FF',
  '%00',
  '%2F..%2Fadmin',
  '%252e%252e',
  '%%',
  'a%2Fb',
];

function segment(rng: Rng, candidates: () => string): string {
  if (rng.chance(0.2)) return rng.pick(RAW_SEGMENTS);
  for (;;) {
    const seg = enc(rng, candidates()).replace(/[/?#]/g, (c) => encodeURIComponent(c));
    if (seg !== '' && seg !== '.' && seg !== '..') return seg;
  }
}

function safeDecode(s: string): string | null {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}

function pathCase(
  rng: Rng,
  id: number,
  apiUrl: string,
  templates: { all: Set<string>; custom: Set<string> },
): FuzzRequest | null {
  const kind = rng.pick(['session', 'template-get', 'template-delete'] as const);
  if (kind === 'session') {
    const seg = segment(rng, () => (rng.chance(0.5) ? rng.uuid() : String(invalidSessionId(rng))));
    const query = rng.chance(0.3) ? `?tenant_id=${enc(rng, String(invalidTenant(rng)).slice(0, 1000))}` : '';
    return {
      id,
      route: 'GET /session/{id}',
      tags: ['path-param'],
      method: 'GET',
      url: `/session/${seg}${query}`,
    };
  }
  const method = kind === 'template-get' ? 'GET' : 'DELETE';
  const seg = segment(rng, () =>
    rng.chance(0.4)
      ? `zz-fuzz-${rng.int(1e9)}`
      : method === 'DELETE' && rng.chance(0.2)
        ? rng.pick(['default', 'minimal', 'node-basic', 'python-data'])
        : String(invalidTemplateName(rng)),
  );
  const url = `/templates/${seg}`;
  // The route must be the one meant, and the name must be one no request can act on.
  const pathname = new URL(apiUrl + url).pathname;
  if (pathname !== url) return null;
  const name = safeDecode(seg);
  if (name !== null && !badTemplateName(name)) {
    if (method === 'GET' && templates.all.has(name)) return null;
    if (method === 'DELETE' && templates.custom.has(name)) return null;
  }
  return { id, route: `${method} /templates/{name}`, tags: ['path-param'], method, url };
}

function wrongMethodCase(rng: Rng, id: number): FuzzRequest {
  const [method, url] = rng.pick([
    ['PUT', '/execute'],
    ['PATCH', '/templates'],
    ['DELETE', '/execute'],
    ['GET', '/execute'],
    ['POST', '/sessions'],
    ['POST', '/admin/events'],
    ['DELETE', `/session/${rng.uuid()}`],
    ['PUT', '/session/create'],
    ['POST', '/session/files/download'],
  ] as const);
  const hasBody = method !== 'GET';
  return {
    id,
    route: `${method} ${url.startsWith('/session/') && method === 'DELETE' ? '/session/{id}' : url}`,
    tags: ['wrong-method'],
    method,
    url,
    contentType: hasBody ? 'application/json' : undefined,
    body: hasBody ? JSON.stringify({ tenant_id: 5, code: [] }) : undefined,
  };
}

// ---------------------------------------------------------------- running and checking

function generate(apiUrl: string, templates: { all: Set<string>; custom: Set<string> }): FuzzRequest[] {
  const rng = new Rng(SEED);
  const requests: FuzzRequest[] = [];
  let id = 0;
  const nextId = () => id++;
  for (const route of POST_ROUTES) requests.push(...corpusFor(route, nextId));
  while (requests.length < CASES) {
    const r = rng.int(100);
    if (r < 55) requests.push(postCase(rng, nextId(), rng.pick(POST_ROUTES)));
    else if (r < 75) requests.push(queryCase(rng, nextId(), rng.pick(QUERY_ROUTES), apiUrl));
    else if (r < 88) {
      const c = pathCase(rng, id, apiUrl, templates);
      if (c) requests.push({ ...c, id: nextId() });
    } else if (r < 97) requests.push(multipartCase(rng, nextId()));
    else requests.push(wrongMethodCase(rng, nextId()));
  }
  return requests;
}

function problemOf(status: number, text: string): string | undefined {
  if (status < 400 || status >= 500) return `status ${status}`;
  if (STACK_TRACE.test(text)) return 'stack trace in the body';
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return 'body is not JSON';
  }
  if (
    !isObject(body) ||
    body.status !== 'error' ||
    !isObject(body.error) ||
    typeof body.error.code !== 'string' ||
    typeof body.error.message !== 'string'
  ) {
    return 'body is not {status:"error", error:{code, message}}';
  }
  return undefined;
}

async function send(apiUrl: string, req: FuzzRequest): Promise<Outcome> {
  const headers: Record<string, string> = { 'x-request-id': `${ID_PREFIX}${req.id}` };
  if (req.contentType !== undefined) headers['content-type'] = req.contentType;
  if (req.accept !== undefined) headers.accept = req.accept;
  try {
    const res = await fetch(apiUrl + req.url, {
      method: req.method,
      headers,
      body: req.body,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await res.text();
    return { req, status: res.status, text, problem: problemOf(res.status, text) };
  } catch (err) {
    const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    return { req, status: 0, text: message, problem: `no answer (${message})` };
  }
}

async function runAll(apiUrl: string, requests: FuzzRequest[]): Promise<Outcome[]> {
  const outcomes: Outcome[] = new Array<Outcome>(requests.length);
  let next = 0;
  const worker = async () => {
    while (next < requests.length) {
      const i = next++;
      outcomes[i] = await send(apiUrl, requests[i]);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return outcomes;
}

function excerpt(v: string | Uint8Array | undefined, max = 160): string {
  if (v === undefined) return '(no body)';
  const s = typeof v === 'string' ? v : Buffer.from(v).toString('latin1');
  const shown = JSON.stringify(s.length > max ? s.slice(0, max) : s);
  return s.length > max ? `${shown}… (${s.length} chars)` : shown;
}

function forReplay(o: Outcome) {
  const { body, ...req } = o.req;
  return {
    ...req,
    ...(typeof body === 'string'
      ? { body }
      : body
        ? { body_base64: Buffer.from(body).toString('base64') }
        : {}),
    answer: { status: o.status, body: o.text, problem: o.problem },
  };
}

/** One line per kind of failure, with the first example of each, reproducible from seed and case id. */
function report(failures: Outcome[], all: Outcome[]): string[] {
  const groups = new Map<string, Outcome[]>();
  for (const f of failures) {
    const key = `${f.req.route} -> ${f.problem ?? ''}`;
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  const lines = [...groups.entries()].map(([key, list]) => {
    const first = list[0];
    const common = first.req.tags.filter((t) => list.every((o) => o.req.tags.includes(t)));
    return (
      `${key}: ${list.length} case(s), tags common to all [${[...new Set(common)].sort().join(',')}]; e.g. seed=0x${SEED.toString(16)} case #${first.req.id} ` +
      `${first.req.method} ${excerpt(first.req.url, 120)} content-type=${first.req.contentType ?? '(none)'}` +
      `${first.req.accept ? ` accept=${first.req.accept}` : ''} ` +
      `body=${excerpt(first.req.body)} => ${first.status} ${excerpt(first.text, 200)}`
    );
  });
  // Which mutations the failures have in common: all of a tag's cases failing points at the bug.
  const tagTotals = new Map<string, [number, number]>();
  for (const o of all) {
    for (const t of new Set(o.req.tags)) {
      const [bad, total] = tagTotals.get(t) ?? [0, 0];
      tagTotals.set(t, [bad + (o.problem ? 1 : 0), total + 1]);
    }
  }
  const byTag = [...tagTotals.entries()]
    .filter(([, [bad]]) => bad > 0)
    .map(([t, [bad, total]]) => `${t} ${bad}/${total}`)
    .join(', ');
  return failures.length > 0 ? [...lines, `failing cases by tag: ${byTag}`] : [];
}

// ---------------------------------------------------------------- the event store

function readEvents<T>(fn: (db: Database.Database) => T): T {
  const db = new Database(stackInfo().dbPath, { readonly: true, fileMustExist: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/**
 * The row count and the last position, from one statement: one snapshot of the store. Two
 * statements could fall on either side of an append (an earlier test's session expiring).
 */
const storeHead = () =>
  readEvents(
    (db) =>
      db.prepare('SELECT COUNT(*) AS count, COALESCE(MAX(position), 0) AS position FROM events').get() as {
        count: number;
        position: number;
      },
  );
/** The row count and the rows after `position`, from one read transaction: one snapshot of the store. */
const countAndEventsAfter = (position: number) =>
  readEvents((db) =>
    db.transaction(() => ({
      count: (db.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n,
      added: db
        .prepare('SELECT * FROM events WHERE position > ? ORDER BY position')
        .all(position) as StoredEvent[],
    }))(),
  );

/** Waits until the count has not moved for a second (background work of earlier tests settles). */
async function settledHead(timeoutMs = 10000): Promise<{ count: number; position: number }> {
  const deadline = Date.now() + timeoutMs;
  let last = storeHead();
  let since = Date.now();
  while (Date.now() < deadline && Date.now() - since < 1000) {
    await new Promise((r) => setTimeout(r, 200));
    const now = storeHead();
    if (now.count !== last.count) since = Date.now();
    last = now;
  }
  return last;
}

// ---------------------------------------------------------------- the tests

describe('fuzzing every route with malformed requests', () => {
  let countBefore = 0;
  let positionBefore = 0;
  let outcomes: Outcome[] = [];

  beforeAll(async () => {
    ({ count: countBefore, position: positionBefore } = await settledHead());
  });

  it(`answers ~${CASES} generated malformed requests with a clean 4xx (seed 0x${SEED.toString(16)})`, async () => {
    const { apiUrl } = stackInfo();
    const list = await fetch(`${apiUrl}/templates`);
    expect(list.status).toBe(200);
    const { templates } = (await list.json()) as { templates: { name: string; builtin: boolean }[] };
    const names = {
      all: new Set(templates.map((t) => t.name)),
      custom: new Set(templates.filter((t) => !t.builtin).map((t) => t.name)),
    };

    const requests = generate(apiUrl, names);
    const t0 = Date.now();
    outcomes = await runAll(apiUrl, requests);
    const seconds = (Date.now() - t0) / 1000;

    const statuses: Record<number, number> = {};
    for (const o of outcomes) statuses[o.status] = (statuses[o.status] ?? 0) + 1;
    console.log(
      `fuzz: ${outcomes.length} requests in ${seconds.toFixed(1)} s (seed 0x${SEED.toString(16)}), ` +
        `statuses ${JSON.stringify(statuses)}`,
    );

    expect(outcomes).toHaveLength(requests.length);
    const failures = outcomes.filter((o) => o.problem !== undefined);
    const lines = report(failures, outcomes);
    if (failures.length > 0) {
      // Every failing request in full, to replay by hand.
      const dump = join(stackInfo().dir, 'fuzz-failures.json');
      writeFileSync(dump, JSON.stringify(failures.map(forReplay), null, 1));
      lines.push(`all ${failures.length} failing requests, in full: ${dump}`);
    }
    expect(lines).toEqual([]);
  });

  it('still answers GET /health with 200', async () => {
    const res = await fetch(`${stackInfo().apiUrl}/health`);
    const body = (await res.json()) as { status: string };
    expect({ status: res.status, health: body.status }).toEqual({ status: 200, health: 'healthy' });
  });

  it('appended no event for any of the fuzzed requests', async () => {
    expect(outcomes.length).toBeGreaterThan(0);
    await settledHead();
    const { count: countAfter, added } = countAndEventsAfter(positionBefore);
    const background = added.filter(
      (e) => BACKGROUND_EVENTS.has(e.type) && !(e.correlation_id ?? '').startsWith(ID_PREFIX),
    );
    const junk = added
      .filter((e) => !background.includes(e))
      .map((e) => `#${e.position} ${e.type} on ${e.stream_id} (correlation ${e.correlation_id ?? 'none'})`);
    expect(junk).toEqual([]);
    // Rows the stack appended by itself meanwhile (an earlier test's session expiring) are not the fuzzer's.
    expect(countAfter - countBefore - background.length).toBe(0);
  });
});
