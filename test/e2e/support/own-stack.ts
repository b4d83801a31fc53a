import { Stack } from '../../../scripts/lib/stack';

/**
 * A stack of the enclosing block's own, for specs that stop, kill or reconfigure its parts:
 * created with `env`, handed to `prepare` (files it needs before its apps start), started
 * before the block's tests and stopped after them, also when starting failed part-way.
 * Returns the stack's getter: it exists once the block's beforeAll has run.
 */
export function ownStack(env: Record<string, string> = {}, prepare?: (stack: Stack) => void): () => Stack {
  let stack: Stack | undefined;
  beforeAll(async () => {
    stack = await Stack.create(env);
    prepare?.(stack);
    await stack.start();
  });
  afterAll(async () => {
    await stack?.stop();
  });
  return () => {
    if (!stack) throw new Error('the stack is created in beforeAll: read it inside a test or hook');
    return stack;
  };
}
