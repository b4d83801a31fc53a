/**
 * E2B's code interpreter SDK, unchanged, against Executor: only the environment differs.
 *
 *   export E2B_API_KEY=<an Executor API key>            # any value when keys are off
 *   export E2B_API_URL=http://127.0.0.1:8080/e2b
 *   export E2B_SANDBOX_URL=http://127.0.0.1:8080/e2b
 *   npm run build && node dist/examples/e2b/code-interpreter.js
 */
import { Sandbox } from '@e2b/code-interpreter';

export async function main(): Promise<{
  mean: string;
  chart: string | undefined;
  files: string[];
  uname: string;
}> {
  const sandbox = await Sandbox.create({ metadata: { example: 'code-interpreter' } });
  try {
    await sandbox.files.write('/home/user/data.csv', 'x,y\n1,2\n2,4\n3,9\n');
    const mean = await sandbox.runCode(
      // The code runs in /home/user (its /workspace here): relative paths reach the same files.
      "import pandas as pd\ndf = pd.read_csv('data.csv')\ndf['y'].mean()",
      { onStdout: (line) => process.stdout.write(line.line) },
    );
    const plot = await sandbox.runCode(
      "import matplotlib.pyplot as plt\nplt.plot(df['x'], df['y'])\nplt.title('y by x')\nplt.show()",
    );
    const files = (await sandbox.files.list('/home/user')).map((entry) => entry.name);
    const uname = await sandbox.commands.run('uname -s');
    return { mean: mean.text ?? '', chart: plot.results[0]?.chart?.type, files, uname: uname.stdout.trim() };
  } finally {
    await sandbox.kill();
  }
}

if (require.main === module) {
  main().then(
    (r) => console.log(r),
    (e: unknown) => {
      console.error(e);
      process.exitCode = 1;
    },
  );
}
