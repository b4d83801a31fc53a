import { DynamicModule, Module } from '@nestjs/common';
import { Registry } from 'prom-client';
import { serviceRegistry } from './registry';
import { ScrapeResponder } from './scrape';

/**
 * The process's prom-client registry (inject `Registry`) and its answer to scrapes over NATS.
 * Needs the NATS connection of NatsModule.
 */
@Module({})
export class TelemetryModule {
  static forRoot(service: string): DynamicModule {
    return {
      module: TelemetryModule,
      global: true,
      providers: [{ provide: Registry, useFactory: () => serviceRegistry(service) }, ScrapeResponder],
      exports: [Registry, ScrapeResponder],
    };
  }
}
