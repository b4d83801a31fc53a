/**
 * Streaming: see output while a run is still going.
 *
 *   npm run example -- streaming
 */
import { Executor } from '@executor/sdk';
import { runIfMain } from './lib/run-main';

export async function main(): Promise<{ lines: string[]; firstLineAfterMs: number; totalMs: number }> {
  const lines: string[] = [];
  const started = Date.now();
  let firstLineAfterMs = -1;
  const result = await Executor.execute(
    'import time\nfor step in range(5):\n    print(f"step {step}", flush=True)\n    time.sleep(0.3)',
    {
      onStdout: (text) => {
        if (firstLineAfterMs < 0) firstLineAfterMs = Date.now() - started;
        lines.push(...text.split('\n').filter(Boolean));
      },
    },
  );
  if (result.status !== 'success') throw new Error(`run failed: ${result.status}`);
  return { lines, firstLineAfterMs, totalMs: Date.now() - started };
}

runIfMain(module, main);
