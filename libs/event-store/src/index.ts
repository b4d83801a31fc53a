export * from './event-store';
export type { AppendMeta, EventQuery, ExpectedVersion } from './dialect';
export * from './errors';
export * from './options';
export * from './event-store-health';
export * from './integrity';
export * from './backup';
export * from './command-handler';
