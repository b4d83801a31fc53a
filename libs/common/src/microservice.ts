import { ConsoleLogger, DynamicModule, INestMicroservice, Logger, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MicroserviceOptions } from '@nestjs/microservices';
import { ConfigError } from './config';
import { DrainingNatsServer, inFlight, InFlightInterceptor, type SubjectRoutes } from './drain';
import { natsConnectionOptions } from './nats.module';
import { RpcErrorFilter } from './rpc-errors';

let unexpectedErrors = 0;

/** Errors that escaped every handler of this process since it started (each is logged). */
export function unexpectedErrorCount(): number {
  return unexpectedErrors;
}

/**
 * The last line of defence: an error that escaped every request path is logged and counted
 * instead of ending the process (and with it every sandbox and session it holds). Each one is
 * a bug to fix where it was thrown; this only keeps one bad request from hurting the others.
 */
function keepProcessAlive(service: string): void {
  const report = (kind: string) => (err: unknown) => {
    unexpectedErrors++;
    const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
    process.stderr.write(
      `${JSON.stringify({ level: 'error', service, message: `${kind} (${unexpectedErrors} so far): ${message}` })}\n`,
    );
  };
  process.on('unhandledRejection', report('unhandled rejection'));
  process.on('uncaughtException', report('uncaught exception'));
}

/** Runs a service's start-up; a bad configuration or a failed start ends the process with the reason. */
export function runService(service: string, start: () => Promise<unknown>): void {
  keepProcessAlive(service);
  start().catch((err: unknown) => {
    const message =
      err instanceof ConfigError
        ? err.message
        : err instanceof Error
          ? (err.stack ?? err.message)
          : String(err);
    process.stderr.write(`${JSON.stringify({ level: 'fatal', service, message })}\n`);
    process.exit(1);
  });
}

export function jsonLogger(service: string): ConsoleLogger {
  return new ConsoleLogger(service, { json: true, colors: false });
}

/**
 * Starts a NATS microservice whose handlers share one queue group, with the shared error
 * filter (or on the subjects `routes` names for a pattern). SIGTERM drains it: no new requests, those in flight get up to `drainTimeoutMs`.
 */
export async function startMicroservice(
  module: Type<unknown> | DynamicModule,
  opts: { service: string; url: string; queue: string; drainTimeoutMs: number; routes?: SubjectRoutes },
): Promise<INestMicroservice> {
  const logger = new Logger('drain');
  const strategy = new DrainingNatsServer(
    { ...natsConnectionOptions(opts.url, `${opts.service}-server`), queue: opts.queue },
    opts.drainTimeoutMs,
    inFlight,
    (finished, left) =>
      finished
        ? logger.log('every request in flight finished before the stop')
        : logger.warn(`stopping with ${left} request(s) still in flight after ${opts.drainTimeoutMs} ms`),
    opts.routes,
  );
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(module, {
    strategy,
    logger: jsonLogger(opts.service),
    // A failed start (the store cannot be opened, say) ends the process with code 1 and the
    // reason (runService), not with Nest's default process.abort().
    abortOnError: false,
  });
  app.useGlobalInterceptors(new InFlightInterceptor(inFlight));
  app.useGlobalFilters(new RpcErrorFilter());
  app.enableShutdownHooks();
  await app.listen();
  return app;
}
