import type { DynamicModule } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { Options } from 'pino-http';
import { serviceLogger, type LogLevel } from './logger';

/**
 * nestjs-pino over the process's one pino logger: Nest's Logger writes through it, and in the
 * api pino-http (with `http`'s options) logs each request.
 */
export function loggingModule(service: string, level: LogLevel, http: Options = {}): DynamicModule {
  return LoggerModule.forRoot({ pinoHttp: { logger: serviceLogger(service, level), ...http } });
}
