import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import Docker from 'dockerode';
import { createHash, randomUUID } from 'node:crypto';
import { from, lastValueFrom, mergeMap, toArray } from 'rxjs';
import type { TemplateSpec } from '@executor/contracts';
import { backoffMs } from '@executor/common';
import { kernelCommand } from '../kernel/kernel-source';
import { RUNNER_CONFIG, type RunnerConfig } from '../runner.config';
import { sandboxContainerOptions } from './container-options';
import { DOCKER } from './docker.provider';
import { ImageMissingError, Sandbox } from './sandbox';
import { RUN_LIMITS, type SandboxLimits } from './run-limits';

/** After failed starts, a pool nobody waits on tries again in 1 s, 2 s, 4 s … at most 30 s. */
const START_BACKOFF = { firstMs: 1000, maxMs: 30000 };

/**
 * A pool that still has a warm sandbox after a take is refilled when the run hands its
 * sandbox back (after its reply), or after this long if the run takes longer: a container
 * start costs the engine far more CPU than a warm run, and on a small host it would compete
 * with the run it replaced.
 */
export const REFILL_DELAY_MS = 250;

/** Containers removed at once: used sandboxes are removed in the background, a few at a time. */
export const PARALLEL_REMOVALS = 2;

/**
 * Containers removed at once when the runner stops. Nothing else runs then, but an engine
 * asked to remove a thousand containers at once spends minutes at a load in the hundreds.
 */
export const SHUTDOWN_REMOVALS = 8;

interface Waiter {
  resolve: (s: Sandbox) => void;
  reject: (e: Error) => void;
}

/** Warm sandboxes of one template (one exact spec). */
class TemplatePool {
  readonly ready: Sandbox[] = [];
  readonly waiters: Waiter[] = [];
  starting = 0;
  failures = 0;
  retryAt = 0;

  constructor(
    readonly spec: TemplateSpec,
    public target: number,
  ) {}

  /** How many more sandboxes this pool wants started now. */
  get deficit(): number {
    return Math.max(0, this.target + this.waiters.length - this.ready.length - this.starting);
  }
}

export function parsePoolSizes(value: string): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const part of value.split(',').map((p) => p.trim())) {
    if (!part) continue;
    const m = /^([a-z0-9][a-z0-9-]*)=(\d+)$/.exec(part);
    if (!m) throw new Error(`POOL_SIZES: ${JSON.stringify(part)} is not name=size`);
    sizes.set(m[1], Number(m[2]));
  }
  return sizes;
}

/**
 * Per template, a number of started, never-used sandboxes whose kernels are ready. A run
 * takes one and the pool refills in the background: every run gets a fresh container but
 * does not wait for one. Starts are bounded so a burst cannot swamp the engine.
 */
@Injectable()
export class SandboxPool implements OnApplicationShutdown {
  private readonly logger = new Logger(SandboxPool.name);
  private readonly pools = new Map<string, TemplatePool>();
  private readonly live = new Set<Sandbox>();
  /** Containers created by starts that have not finished yet. */
  private readonly creating = new Set<string>();
  private readonly sizes: Map<string, number>;
  private startsInFlight = 0;
  private closed = false;
  /** Used sandboxes waiting for their container to be removed, and removals under way. */
  private readonly removals: Sandbox[] = [];
  private removing = 0;
  private refillTimer?: NodeJS.Timeout;

  constructor(
    @Inject(DOCKER) private readonly docker: Docker,
    @Inject(RUNNER_CONFIG) private readonly config: RunnerConfig,
    @Inject(RUN_LIMITS) private readonly limits: SandboxLimits,
  ) {
    this.sizes = parsePoolSizes(config.POOL_SIZES);
  }

  /** Templates that are kept warm from the start. */
  get warmTemplates(): string[] {
    return [...this.sizes].filter(([, n]) => n > 0).map(([name]) => name);
  }

  /** Per template pool now: warm sandboxes, starts under way, callers waiting and the target. */
  stats(): Array<{ template: string; ready: number; starting: number; waiting: number; target: number }> {
    const byTemplate = new Map<
      string,
      { ready: number; starting: number; waiting: number; target: number }
    >();
    for (const pool of this.pools.values()) {
      const name = pool.spec.runtime ? `${pool.spec.name}+${pool.spec.runtime}` : pool.spec.name;
      const t = byTemplate.get(name) ?? { ready: 0, starting: 0, waiting: 0, target: 0 };
      t.ready += pool.ready.length;
      t.starting += pool.starting;
      t.waiting += pool.waiters.length;
      t.target += pool.target;
      byTemplate.set(name, t);
    }
    return [...byTemplate].map(([template, t]) => ({ template, ...t }));
  }

  /** Container ids this process owns (warm, starting, running or being removed). */
  ownedContainerIds(): Set<string> {
    return new Set([...[...this.live].map((s) => s.id), ...this.creating]);
  }

  /** Starts filling the pool of a template without taking anything from it. */
  warm(spec: TemplateSpec): void {
    this.poolFor(spec).target = this.sizes.get(spec.name) ?? 0;
    this.fill();
  }

  /** A ready sandbox of this template: from the pool, or started now when the pool is empty. */
  acquire(spec: TemplateSpec): Promise<Sandbox> {
    if (this.closed) return Promise.reject(new Error('the runner is shutting down'));
    const pool = this.poolFor(spec);
    while (pool.ready.length > 0) {
      const sandbox = pool.ready.shift()!;
      if (sandbox.alive) {
        // An empty pool is refilled at once; one with a spare left, once this run is over.
        if (pool.ready.length === 0) this.fill();
        else this.fillSoon();
        return Promise.resolve(sandbox);
      }
      this.discard(sandbox);
    }
    const waiting = new Promise<Sandbox>((resolve, reject) => pool.waiters.push({ resolve, reject }));
    this.fill();
    return waiting;
  }

  /**
   * Removes a used sandbox in the background; it is never handed out again. Its stream is cut
   * at once (nothing more is read from it); the container is removed after the current turn of
   * the event loop (the run's reply goes out first), at most PARALLEL_REMOVALS at a time, and
   * the pools refill then.
   */
  discard(sandbox: Sandbox): void {
    sandbox.detach();
    this.removals.push(sandbox);
    setImmediate(() => {
      this.removeNext();
      this.fill();
    });
  }

  private removeNext(): void {
    while (this.removing < PARALLEL_REMOVALS && this.removals.length > 0) {
      const sandbox = this.removals.shift()!;
      this.removing++;
      void sandbox.destroy().finally(() => {
        this.live.delete(sandbox);
        this.removing--;
        this.removeNext();
      });
    }
  }

  /** Refills the pools after REFILL_DELAY_MS unless a discard or an empty pool does it sooner. */
  private fillSoon(): void {
    this.refillTimer ??= setTimeout(() => {
      this.refillTimer = undefined;
      this.fill();
    }, REFILL_DELAY_MS);
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    clearTimeout(this.refillTimer);
    this.removals.splice(0);
    for (const pool of this.pools.values()) {
      for (const w of pool.waiters.splice(0)) w.reject(new Error('the runner is shutting down'));
    }
    const removals: Array<() => Promise<unknown>> = [
      ...[...this.live].map((s) => () => s.destroy()),
      ...[...this.creating].map(
        (id) => () =>
          this.docker
            .getContainer(id)
            .remove({ force: true, v: true })
            .catch(() => undefined),
      ),
    ];
    await lastValueFrom(
      from(removals).pipe(
        mergeMap((remove) => remove(), SHUTDOWN_REMOVALS),
        toArray(),
      ),
    );
  }

  /**
   * The pool of this exact spec. A template that changed gets a new pool and its old one
   * stops being refilled; a request's gVisor variant gets a pool of its own, started on demand.
   */
  private poolFor(spec: TemplateSpec): TemplatePool {
    const key = `${spec.name}@${specHash(spec)}`;
    let pool = this.pools.get(key);
    if (!pool) {
      pool = new TemplatePool(spec, spec.runtime ? 0 : (this.sizes.get(spec.name) ?? 0));
      for (const [otherKey, other] of this.pools) {
        if (other.spec.name !== spec.name || other.spec.runtime !== spec.runtime) continue;
        other.target = 0;
        for (const s of other.ready.splice(0)) this.discard(s);
        if (other.waiters.length === 0 && other.starting === 0) this.pools.delete(otherKey);
      }
      this.pools.set(key, pool);
    }
    return pool;
  }

  /** Starts sandboxes where pools want them, within the bound on parallel starts. */
  private fill(): void {
    clearTimeout(this.refillTimer);
    this.refillTimer = undefined;
    if (this.closed) return;
    for (const pool of this.pools.values()) {
      while (pool.deficit > 0 && this.startsInFlight < this.config.MAX_PARALLEL_STARTS) {
        if (Date.now() < pool.retryAt && pool.waiters.length === 0) break;
        this.startOne(pool);
      }
    }
  }

  private startOne(pool: TemplatePool): void {
    pool.starting++;
    this.startsInFlight++;
    const spec = pool.spec;
    const sandboxId = randomUUID();
    const options = sandboxContainerOptions({
      runnerId: this.config.RUNNER_ID,
      sandboxId,
      template: spec,
      env: {
        // Lets a run (and a test) name its own sandbox; it says nothing about the host.
        EXECUTOR_SANDBOX_ID: sandboxId,
        EXECUTOR_KERNEL: spec.kernel,
        EXECUTOR_PRELOAD: spec.preload.join(','),
        EXECUTOR_MAX_OUTPUT_BYTES: String(this.limits.outputBytes),
      },
      cmd: kernelCommand(spec.kernel),
    });
    let containerId: string | undefined;
    Sandbox.start(
      this.docker,
      options,
      spec,
      this.limits,
      this.config.KERNEL_READY_TIMEOUT_S * 1000,
      (id) => {
        containerId = id;
        this.creating.add(id);
      },
    )
      .then((sandbox) => {
        this.live.add(sandbox);
        pool.failures = 0;
        const current = pool.target > 0;
        const waiter = pool.waiters.shift();
        if (waiter) waiter.resolve(sandbox);
        else if (current && !this.closed) pool.ready.push(sandbox);
        else this.discard(sandbox);
      })
      .catch((err: Error) => {
        pool.failures++;
        pool.retryAt = Date.now() + backoffMs(pool.failures, START_BACKOFF);
        this.logger.warn(`could not start a ${spec.name} sandbox: ${err.message}`);
        // A missing image fails every waiter at once; other errors fail one after a few tries.
        if (err instanceof ImageMissingError) {
          for (const w of pool.waiters.splice(0)) w.reject(err);
        } else if (pool.failures >= 3) {
          pool.waiters.shift()?.reject(err);
        }
      })
      .finally(() => {
        if (containerId) this.creating.delete(containerId);
        pool.starting--;
        this.startsInFlight--;
        this.fill();
      });
  }
}

function specHash(spec: TemplateSpec): string {
  return createHash('sha256').update(JSON.stringify(spec)).digest('hex');
}
