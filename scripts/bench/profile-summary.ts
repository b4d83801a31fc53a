/**
 * Where a process's CPU went, from a V8 `.cpuprofile` (`EXECUTOR_CPU_PROFILE_DIR=dir node
 * scripts/run-stack.js` writes one per app when the stack stops):
 *
 *   node dist/scripts/bench/profile-summary.js --from 17 --to 37 [--top 25] dir/CPU.*.cpuprofile
 *
 * Only the samples between --from and --to seconds after the process started count (the load,
 * not the start-up). Time on the CPU is split by package (node_modules/<name>, our own dist
 * folders, node's internals) and by function, self time. Socket writes (`writeBuffer`,
 * `writev`, …) are shown apart: the sampler also counts the time a writer waits while the
 * process it woke runs, so on a busy host they stand for far more than the write's own CPU.
 */
import { readFileSync } from 'node:fs';
import { readArgs } from '../lib/cli-args';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Milliseconds on the CPU in the window, writes included. */
  busy_ms: number;
  /** Of which in socket and file writes (see above). */
  writes_ms: number;
  packages: Array<[string, number]>;
  functions: Array<[string, number]>;
}

const WRITES = new Set(['writeBuffer', 'writev', 'writeUtf8String', 'writeString', 'writeLatin1String']);
const round = (us: number) => Math.round(us / 100) / 10;

/** The package or place a frame's code belongs to. */
export function placeOf(url: string, functionName: string): string {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  if (url.includes('/dist/')) return url.split('/dist/')[1].split('/').slice(0, 3).join('/');
  if (url.startsWith('node:')) return url;
  return url === '' ? functionName : url;
}

export function summarize(profile: CpuProfile, fromS = 0, toS = Infinity, top = 25): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let t = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    t += dt;
    if (t >= fromS * 1e6 && t <= toS * 1e6) self.set(id, (self.get(id) ?? 0) + dt);
  });
  const packages = new Map<string, number>();
  const functions = new Map<string, number>();
  let busy = 0;
  let writes = 0;
  for (const [id, us] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') continue;
    busy += us;
    if (WRITES.has(functionName)) writes += us;
    const place = placeOf(url, functionName);
    packages.set(place, (packages.get(place) ?? 0) + us);
    const name = `${functionName || '(anonymous)'} ${url.split('/').slice(-2).join('/')}:${lineNumber}`;
    functions.set(name, (functions.get(name) ?? 0) + us);
  }
  const ranked = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, v]): [string, number] => [k, round(v)]);
  return {
    busy_ms: round(busy),
    writes_ms: round(writes),
    packages: ranked(packages),
    functions: ranked(functions),
  };
}

if (require.main === module) {
  {
    const { values, positionals } = readArgs(
      process.argv.slice(2),
      { from: 'integer', to: 'integer', top: 'integer' },
      { positionals: 32 },
    );
    for (const file of positionals) {
      const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
      const app = /dist\/apps\/([a-z-]+)\//.exec(profile.nodes.map((n) => n.callFrame.url).join(' '))?.[1];
      const s = summarize(profile, values.from ?? 0, values.to ?? Infinity, values.top ?? 25);
      console.log(`\n## ${app ?? file}: ${s.busy_ms} ms on the CPU, ${s.writes_ms} ms of it in writes`);
      for (const [k, v] of s.packages) console.log(`${String(v).padStart(9)}  ${k}`);
      console.log('  -- functions, self time');
      for (const [k, v] of s.functions) console.log(`${String(v).padStart(9)}  ${k}`);
    }
  }
}
