import { ErrorCodes, type ErrorCode } from '@executor/contracts';

/** Refused by admission: the runner is full. Carries what the caller needs to come back. */
export class AdmissionRefused extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly retry_after: number,
  ) {
    super(message);
    this.name = 'AdmissionRefused';
  }
}

interface Waiter {
  grant: () => void;
  refuse: (e: AdmissionRefused) => void;
  timer: NodeJS.Timeout;
}

/**
 * Backpressure for executions: at most `capacity` run at once, at most `queueLimit` wait
 * for a slot, none waits longer than `maxWaitMs`. Anything beyond is refused at once with a
 * retry-after estimate, so memory stays bounded whatever the load. Pure: no I/O.
 */
export class Admission {
  private running = 0;
  private readonly queue: Waiter[] = [];
  /** Runs refused since the start: the queue was full, or the wait ran out. */
  private refusedFull = 0;
  private refusedWait = 0;
  /** Smoothed duration of a run, for the retry-after estimate. */
  private averageRunMs = 1000;

  constructor(
    readonly capacity: number,
    readonly queueLimit: number,
    readonly maxWaitMs: number,
  ) {}

  get stats(): { running: number; queued: number } {
    return { running: this.running, queued: this.queue.length };
  }

  get refused(): { queue_full: number; wait_timeout: number } {
    return { queue_full: this.refusedFull, wait_timeout: this.refusedWait };
  }

  /** Runs `work` when a slot is free; refuses when the queue is full or the wait runs out. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    await this.acquire();
    const started = Date.now();
    try {
      return await work();
    } finally {
      this.averageRunMs = 0.8 * this.averageRunMs + 0.2 * (Date.now() - started);
      this.release();
    }
  }

  /** Seconds until a slot is likely free for one more caller. */
  retryAfter(): number {
    const rounds = (this.queue.length + 1) / this.capacity;
    return Math.max(1, Math.min(60, Math.ceil((rounds * this.averageRunMs) / 1000)));
  }

  private acquire(): Promise<void> {
    if (this.running < this.capacity && this.queue.length === 0) {
      this.running++;
      return Promise.resolve();
    }
    if (this.queue.length >= this.queueLimit) {
      this.refusedFull++;
      return Promise.reject(
        new AdmissionRefused(
          ErrorCodes.RunnerBusy,
          `the runner is at capacity (${this.capacity} running, ${this.queue.length} waiting); try again later`,
          this.retryAfter(),
        ),
      );
    }
    return new Promise<void>((grant, refuse) => {
      const waiter: Waiter = {
        grant,
        refuse,
        timer: setTimeout(() => {
          const i = this.queue.indexOf(waiter);
          if (i >= 0) this.queue.splice(i, 1);
          this.refusedWait++;
          refuse(
            new AdmissionRefused(
              ErrorCodes.RunnerBusy,
              `no execution slot was free within ${this.maxWaitMs} ms; try again later`,
              this.retryAfter(),
            ),
          );
        }, this.maxWaitMs),
      };
      this.queue.push(waiter);
    });
  }

  /** Hands the slot to the next waiter, or frees it. */
  private release(): void {
    const next = this.queue.shift();
    if (next) {
      clearTimeout(next.timer);
      next.grant();
    } else {
      this.running--;
    }
  }
}
