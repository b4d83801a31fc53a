export { Client, ExecutorError, type ClientOptions } from './client';
export { Executor, Sandbox, type SandboxOptions } from './sandbox';
export * from './types';
