import { ConsoleLogger, DynamicModule, INestMicroservice, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MicroserviceOptions, Transport } from '@nestjs/microservices';
import { ConfigError } from './config';
import { natsConnectionOptions } from './nats.module';
import { RpcErrorFilter } from './rpc-errors';

/** Runs a service's start-up; a bad configuration or a failed start ends the process with the reason. */
export function runService(service: string, start: () => Promise<unknown>): void {
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

/** Starts a NATS microservice whose handlers share one queue group, with the shared error filter. */
export async function startMicroservice(
  module: Type<unknown> | DynamicModule,
  opts: { service: string; url: string; queue: string },
): Promise<INestMicroservice> {
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(module, {
    transport: Transport.NATS,
    options: { ...natsConnectionOptions(opts.url, `${opts.service}-server`), queue: opts.queue },
    logger: jsonLogger(opts.service),
  });
  app.useGlobalFilters(new RpcErrorFilter());
  app.enableShutdownHooks();
  await app.listen();
  return app;
}
