import { readFileSync } from 'node:fs';

/** The bench's plot: a python-data run that draws one matplotlib figure. */
export const PLOT = [
  'import matplotlib.pyplot as plt',
  'plt.plot([0, 1, 2, 3], [0, 1, 4, 9])',
  'plt.title("squares")',
  'plt.show()',
].join('\n');

/** CPU time (user + system) of a process in milliseconds, from /proc; 0 once it is gone. */
export function cpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return 0;
  }
}
