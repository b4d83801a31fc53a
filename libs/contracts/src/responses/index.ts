export * from './admin.dto';
export * from './errors.dto';
export * from './execution.dto';
export * from './health.dto';
export * from './metrics.dto';
export * from './sessions.dto';
export * from './templates.dto';
export * from './success.dto';
