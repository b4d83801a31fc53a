import { Module } from '@nestjs/common';
import { Registry } from 'prom-client';
import { globalModuleWithOptions } from '../global-module';
import { serviceRegistry } from './registry';
import { ScrapeResponder } from './scrape';

export interface TelemetryModuleOptions {
  /** The `service` label of every series. */
  service: string;
}

const { GlobalModule, OPTIONS } = globalModuleWithOptions<TelemetryModuleOptions>('Telemetry');

/**
 * The process's prom-client registry (inject `Registry`) and its answer to scrapes over NATS.
 * Needs the NATS connection of NatsModule.
 */
@Module({
  providers: [
    {
      provide: Registry,
      inject: [OPTIONS],
      useFactory: (options: TelemetryModuleOptions) => serviceRegistry(options.service),
    },
    ScrapeResponder,
  ],
  exports: [Registry, ScrapeResponder],
})
export class TelemetryModule extends GlobalModule {}
