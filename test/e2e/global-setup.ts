import { Stack } from '../../scripts/lib/stack';

declare global {
  var __EXECUTOR_STACK__: Stack | undefined;
}

/** Starts one real stack for the whole e2e run; tests find it through E2E_* variables. */
export default async function globalSetup(): Promise<void> {
  const stack = await Stack.create();
  globalThis.__EXECUTOR_STACK__ = stack;
  try {
    await stack.start();
  } catch (err) {
    await stack.stop();
    throw err;
  }
  process.env.E2E_STACK = JSON.stringify(stack.info);
}
