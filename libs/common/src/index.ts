export * from './config';
export * from './nats.constants';
export * from './nats.module';
export * from './nats-rpc';
export * from './rpc-errors';
export * from './microservice';
export * from './repo-root';
export * from './keyed-lock';
