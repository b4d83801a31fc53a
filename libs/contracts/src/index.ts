export * from './subjects';
export * from './errors';
export * from './events';
export * from './execution';
export * from './health';
export * from './rpc';
export * from './templates';
export * from './workspace-path';
