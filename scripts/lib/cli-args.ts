import { parseArgs } from 'node:util';

/** What an option of a script takes: a string, nothing (a flag), or a whole number. */
export type OptionKind = 'string' | 'boolean' | 'integer';
export type CliOptions = Record<string, OptionKind>;

export type CliValues<O extends CliOptions> = {
  [K in keyof O]?: O[K] extends 'boolean' ? boolean : O[K] extends 'integer' ? number : string;
};

export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * The arguments of a small CLI in scripts/, read by node:util's parseArgs: `--name value`,
 * `--name=value`, `--flag`, and at most `positionals` plain arguments. An unknown option, a
 * missing value or a number that is not one is a UsageError naming the known options.
 */
export function readArgs<O extends CliOptions>(
  argv: string[],
  options: O,
  { positionals = 0 }: { positionals?: number } = {},
): { values: CliValues<O>; positionals: string[] } {
  const known = Object.keys(options)
    .map((k) => `--${k}`)
    .join(' ');
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      options: Object.fromEntries(
        Object.entries(options).map(([name, kind]) => [
          name,
          { type: kind === 'boolean' ? 'boolean' : 'string' },
        ]),
      ),
      strict: true,
      allowPositionals: positionals > 0,
    });
  } catch (err) {
    throw new UsageError(`${err instanceof Error ? err.message : String(err)}; known: ${known || 'none'}`);
  }
  if (parsed.positionals.length > positionals) {
    throw new UsageError(`unexpected argument ${parsed.positionals[positionals]}; known: ${known || 'none'}`);
  }
  const values: Record<string, string | number | boolean> = {};
  for (const [name, value] of Object.entries(parsed.values)) {
    if (value === undefined || Array.isArray(value)) continue;
    if (options[name] === 'integer') {
      if (typeof value !== 'string' || !/^\d{1,15}$/.test(value))
        throw new UsageError(`--${name} takes a whole number, not ${JSON.stringify(value).slice(0, 40)}`);
      values[name] = Number(value);
    } else {
      values[name] = value;
    }
  }
  return { values: values as CliValues<O>, positionals: parsed.positionals };
}
