/**
 * Visualization: a matplotlib plot, a multi-plot dashboard, a pandas analysis, and a stateful
 * follow-up that reuses the DataFrame of the call before. PNGs land in examples/output/.
 *
 *   npm run example -- visualization
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Sandbox, type ExecutionResult } from '@executor/sdk';
import { runIfMain } from './lib/run-main';

function savePngs(result: ExecutionResult, prefix: string, dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  return result.artifacts
    .filter((a) => a.type === 'image/png')
    .map((a, i) => {
      const file = join(dir, `${prefix}-${i + 1}.png`);
      writeFileSync(file, Buffer.from(a.content, 'base64'));
      return file;
    });
}

export async function main(
  outputDir = join(process.cwd(), 'examples', 'output'),
): Promise<{ pngs: string[]; summary: string; followUp: string }> {
  const sandbox = await Sandbox.create({ template: 'python-data' });
  try {
    const plot = await sandbox.runCode(`
import numpy as np
import matplotlib.pyplot as plt
x = np.linspace(0, 2 * np.pi, 200)
plt.plot(x, np.sin(x), label='sin')
plt.plot(x, np.cos(x), label='cos')
plt.legend(); plt.title('A plot')
plt.show()`);
    const dashboard = await sandbox.runCode(`
import pandas as pd
rng = np.random.default_rng(7)
df = pd.DataFrame({'day': range(30), 'sales': rng.integers(50, 150, 30), 'visits': rng.integers(200, 900, 30)})
fig, axes = plt.subplots(2, 2, figsize=(10, 7))
df.plot(x='day', y='sales', ax=axes[0, 0], title='Sales')
df.plot(x='day', y='visits', ax=axes[0, 1], title='Visits', color='orange')
df['sales'].plot.hist(ax=axes[1, 0], title='Sales distribution')
df.plot.scatter(x='visits', y='sales', ax=axes[1, 1], title='Sales vs visits')
fig.tight_layout()
plt.show()`);
    const analysis = await sandbox.runCode(`df.describe().loc[['mean', 'max']].round(1)`);
    const followUp = await sandbox.runCode(
      `print(f"best day: {int(df.loc[df.sales.idxmax(), 'day'])}, correlation: {df.sales.corr(df.visits):.2f}")`,
    );
    return {
      pngs: [...savePngs(plot, 'plot', outputDir), ...savePngs(dashboard, 'dashboard', outputDir)],
      summary:
        (analysis.results.find((r) => r.is_main_result)?.data['text/plain'] as string | undefined) ?? '',
      followUp: followUp.stdout.trim(),
    };
  } finally {
    await sandbox.kill();
  }
}

runIfMain(module, main);
