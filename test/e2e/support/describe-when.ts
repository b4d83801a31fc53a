/**
 * `describe` when what the spec needs is on the machine; otherwise `describe.skip`, with a
 * warning that says what is missing, so a skipped deployment test is never silent.
 */
export function describeWhen(ready: boolean, warning: string): jest.Describe {
  if (!ready) console.warn(warning);
  return ready ? describe : describe.skip;
}
