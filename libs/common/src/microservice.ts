import {
  DynamicModule,
  INestMicroservice,
  InjectionToken,
  Logger,
  Module,
  Type,
  ValueProvider,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MicroserviceOptions } from '@nestjs/microservices';
import { Logger as PinoNestLogger } from 'nestjs-pino';
import type { Options as HttpLogOptions } from 'pino-http';
import { eventStoreOptions } from '@executor/event-store';
import { type BaseConfig, ConfigError, loadConfig } from './config';
import { EventStoreModule } from './event-store.module';
import { envLogLevel, loggingModule, serviceLogger, stderrLogger } from './logging';
import { RpcContextInterceptor } from './logging/rpc-context.interceptor';
import { TelemetryModule } from './telemetry/telemetry.module';
import { DrainingNatsServer, inFlight, InFlightInterceptor, type SubjectRoutes } from './drain';
import { natsConnectionOptions, NatsModule } from './nats.module';
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
function keepProcessAlive(): void {
  const report = (kind: string) => (err: unknown) => {
    unexpectedErrors++;
    serviceLogger().error({ err }, `${kind} (${unexpectedErrors} so far)`);
  };
  process.on('unhandledRejection', report('unhandled rejection'));
  process.on('uncaughtException', report('uncaught exception'));
}

/** Runs a service's start-up; a bad configuration or a failed start ends the process with the reason. */
export function runService(service: string, start: () => Promise<unknown>): void {
  serviceLogger(service, envLogLevel());
  keepProcessAlive();
  start().catch((err: unknown) => {
    const logger = stderrLogger(service);
    if (err instanceof ConfigError) logger.fatal(err.message);
    else logger.fatal({ err }, 'the start failed');
    process.exit(1);
  });
}

@Module({})
class ObservedService {}

/**
 * An app's root module with what every process has: its logs through nestjs-pino (pino-http's
 * request logs with `http`, in the api) and its prom-client registry, scraped over NATS.
 */
export function observedService(
  service: string,
  module: Type<unknown> | DynamicModule,
  http?: HttpLogOptions,
): DynamicModule {
  return {
    module: ObservedService,
    imports: [loggingModule(service, envLogLevel(), http), TelemetryModule.forRoot({ service }), module],
  };
}

@Module({})
class ProcessValues {}

/**
 * Values a process made before Nest started (its validated config above all) as one global
 * module, so every module injects them as it injects the NATS connection and feature modules
 * stay static.
 */
export function globalValues(...providers: ValueProvider[]): DynamicModule {
  return { module: ProcessValues, global: true, providers, exports: providers.map((p) => p.provide) };
}

/**
 * What every service has beside its own module: its NATS connection (for calls and events, as
 * `service`), the event store its config names, and the config itself under `configToken`.
 */
export function serviceInfrastructure(
  service: string,
  config: BaseConfig,
  configToken: InjectionToken,
): DynamicModule[] {
  return [
    NatsModule.forRoot({ url: config.NATS_URL, service }),
    EventStoreModule.forRoot(eventStoreOptions(config)),
    globalValues({ provide: configToken, useValue: config }),
  ];
}

/** A NATS service as its main.ts describes it to runMicroservice. */
export interface MicroserviceSpec<C extends BaseConfig> {
  /** Its name in logs, metrics and NATS connection names. */
  service: string;
  /** The queue group its handlers share. */
  queue: string;
  /** Its config class, read from the environment at start (a bad value stops the process). */
  config: new () => C;
  /** Where its providers inject the config: the config class unless given. */
  configToken?: InjectionToken;
  /** Its own controllers and providers, as a static module. */
  module: Type<unknown>;
  /** Subjects to serve some handler patterns on instead of the pattern (see startMicroservice). */
  routes?: (config: C) => SubjectRoutes;
  /** Checks that must pass before it joins NATS; a failure ends the process with the reason. */
  preflight?: (config: C) => Promise<void>;
}

@Module({})
class ServiceRoot {}

/** The whole start of a NATS service: its config, its preflight checks, then startMicroservice. */
export function runMicroservice<C extends BaseConfig>(spec: MicroserviceSpec<C>): void {
  runService(spec.service, async () => {
    const config = loadConfig(spec.config);
    await spec.preflight?.(config);
    const root: DynamicModule = {
      module: ServiceRoot,
      imports: [...serviceInfrastructure(spec.service, config, spec.configToken ?? spec.config), spec.module],
    };
    await startMicroservice(root, {
      service: spec.service,
      queue: spec.queue,
      config,
      routes: spec.routes?.(config),
    });
  });
}

/**
 * Starts a NATS microservice on `config.NATS_URL` whose handlers share one queue group, with
 * the shared error filter (or on the subjects `routes` names for a pattern). SIGTERM drains it:
 * no new requests, those in flight get up to `config.DRAIN_TIMEOUT_S`.
 */
export async function startMicroservice(
  module: Type<unknown> | DynamicModule,
  opts: { service: string; queue: string; config: BaseConfig; routes?: SubjectRoutes },
): Promise<INestMicroservice> {
  const logger = new Logger('drain');
  const drainTimeoutMs = opts.config.DRAIN_TIMEOUT_S * 1000;
  const strategy = new DrainingNatsServer(
    { ...natsConnectionOptions(opts.config.NATS_URL, `${opts.service}-server`), queue: opts.queue },
    drainTimeoutMs,
    inFlight,
    (finished, left) =>
      finished
        ? logger.log('every request in flight finished before the stop')
        : logger.warn(`stopping with ${left} request(s) still in flight after ${drainTimeoutMs} ms`),
    opts.routes,
  );
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(
    observedService(opts.service, module),
    {
      strategy,
      bufferLogs: true,
      // A failed start (the store cannot be opened, say) ends the process with code 1 and the
      // reason (runService), not with Nest's default process.abort().
      abortOnError: false,
    },
  );
  app.useLogger(app.get(PinoNestLogger));
  app.useGlobalInterceptors(new RpcContextInterceptor(), new InFlightInterceptor(inFlight));
  app.useGlobalFilters(new RpcErrorFilter());
  app.enableShutdownHooks();
  await app.listen();
  return app;
}
