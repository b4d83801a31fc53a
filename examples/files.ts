/**
 * File operations: upload a CSV, let code read it and write a report, list, download, delete.
 *
 *   npm run example -- files
 */
import { Sandbox } from '@executor/sdk';
import { runIfMain } from './lib/run-main';

export async function main(): Promise<{ listed: string[]; report: string; afterDelete: string[] }> {
  const sandbox = await Sandbox.create();
  try {
    await sandbox.files.write('data/prices.csv', 'item,price\napple,1.20\npear,0.80\nfig,2.50\n');
    await sandbox.runCode(`
import csv, json, os
rows = list(csv.DictReader(open('data/prices.csv')))
os.makedirs('reports', exist_ok=True)
json.dump({'items': len(rows), 'total': round(sum(float(r['price']) for r in rows), 2)}, open('reports/summary.json', 'w'))`);
    const listed = (await sandbox.files.list('reports')).map((e) => e.name);
    const report = await sandbox.files.readText('reports/summary.json');
    await sandbox.files.remove('reports/summary.json');
    const afterDelete = (await sandbox.files.list('reports')).map((e) => e.name);
    return { listed, report, afterDelete };
  } finally {
    await sandbox.kill();
  }
}

runIfMain(module, main);
