export default async function globalTeardown(): Promise<void> {
  await globalThis.__EXECUTOR_STACK__?.stop();
}
