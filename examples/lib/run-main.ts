/**
 * Runs an example's `main` when its file is run directly (`npm run example -- <name>`), not when
 * a test imports it: prints what it returned as JSON, or the error, with exit code 1.
 */
export function runIfMain(mod: NodeJS.Module, main: () => Promise<unknown>): void {
  if (require.main !== mod) return;
  main().then(
    (r) => console.log(JSON.stringify(r, null, 2)),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
