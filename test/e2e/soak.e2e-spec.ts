import { Stack } from '../../scripts/lib/stack';
import { runSoak, SOAK_ENV, type SoakReport } from '../../scripts/soak/soak';

/** SOAK_SECONDS=1800 for a longer run (or `npm run soak -- --seconds 1800`). CI runs 5 minutes. */
const SECONDS = Number(process.env.SOAK_SECONDS ?? 300);

describe(`soak: ${SECONDS} s of mixed load from 8 clients with chaos`, () => {
  let stack: Stack;
  let report: SoakReport;

  beforeAll(
    async () => {
      stack = await Stack.create(SOAK_ENV);
      await stack.start();
      report = await runSoak(stack, {
        seconds: SECONDS,
        clients: 8,
        chaosEverySeconds: 20,
        log: (line) => process.stderr.write(`${line}\n`),
      });
      console.log(`soak report: ${JSON.stringify(report, null, 2)}`);
    },
    (SECONDS + 600) * 1000,
  );

  afterAll(() => stack?.stop());

  it('answered every request: a success or a clear error, none lost', () => {
    expect(report.requests.sent).toBeGreaterThan(100);
    expect(report.requests.lost).toBe(0);
    expect(report.requests.answered).toBe(report.requests.sent);
    expect(report.requests.succeeded).toBeGreaterThan(report.requests.sent / 2);
    // Refusals carry a code a caller can act on; never an internal error.
    expect(Object.keys(report.refused_by_code)).not.toContain('INTERNAL_ERROR');
    expect(Object.keys(report.refused_by_code)).not.toContain('NO_CODE');
  });

  it('killed each of the runner, session-service, metrics and nats-server at least once', () => {
    const victims = new Set(report.chaos.map((c) => c.victim));
    expect([...victims].sort()).toEqual(['metrics', 'nats', 'runner', 'session-service']);
  });

  it('left a whole log, metrics equal to a recount, no leaked container and no stuck session', () => {
    expect(report.integrity).toMatchObject({
      ok: true,
      position_gaps: [],
      version_breaks: [],
      unfinished_executions: [],
    });
    expect(report.metrics_mismatches).toEqual([]);
    expect(report.metrics_match_recount).toBe(true);
    expect(report.containers_leaked).toBe(0);
    expect(report.sessions_stuck).toBe(0);
  });
});
