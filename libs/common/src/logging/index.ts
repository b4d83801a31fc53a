export * from './request-context';
export * from './logger';
export * from './logging.module';
export * from './rpc-context.interceptor';
