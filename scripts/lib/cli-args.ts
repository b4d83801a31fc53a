/** `--name value` and `--flag` arguments of the small CLIs in scripts/. */
export function parseArgs(argv: string[], known: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}`);
    const name = arg.slice(2);
    if (!known.includes(name))
      throw new Error(`unknown option --${name}; known: ${known.map((k) => `--${k}`).join(' ')}`);
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) out[name] = 'true';
    else {
      out[name] = next;
      i++;
    }
  }
  return out;
}
