import { Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import type { ConnectionOptions } from 'nats';
import { globalModuleWithOptions } from './global-module';
import { NATS_CONNECTION, SERVICE_NAME } from './nats.constants';
import { NatsLink } from './nats-link';
import { NatsRpc } from './nats-rpc';

export interface NatsModuleOptions {
  url: string;
  service: string;
}

/** NATS connection options every process uses: reconnect forever. */
export function natsConnectionOptions(url: string, name: string): ConnectionOptions {
  return {
    servers: url.split(',').map((s) => s.trim()),
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    waitOnFirstConnect: true,
    // A request would capture a stack trace (a new Error) to decorate a later timeout: on
    // every call of the hot path, for a trace our own errors already give.
    noAsyncTraces: true,
  };
}

@Injectable()
class NatsCloser implements OnApplicationShutdown {
  constructor(@Inject(NatsLink) private readonly link: NatsLink) {}
  async onApplicationShutdown(): Promise<void> {
    await this.link.drain().catch(() => undefined);
  }
}

const { GlobalModule, OPTIONS } = globalModuleWithOptions<NatsModuleOptions>('Nats');

/**
 * One NATS connection per process for its outgoing calls (NatsRpc), for publishing events as
 * plain JSON and for health round trips, as a NatsLink and as its NatsConnection
 * (NATS_CONNECTION). (A service's handlers have their own connection, in its transport.)
 */
@Module({
  providers: [
    { provide: SERVICE_NAME, inject: [OPTIONS], useFactory: (options: NatsModuleOptions) => options.service },
    {
      provide: NatsLink,
      inject: [OPTIONS],
      useFactory: (options: NatsModuleOptions) =>
        NatsLink.connect(natsConnectionOptions(options.url, `${options.service}-events`)),
    },
    { provide: NATS_CONNECTION, inject: [NatsLink], useFactory: (link: NatsLink) => link.connection },
    NatsRpc,
    NatsCloser,
  ],
  exports: [NatsLink, NATS_CONNECTION, SERVICE_NAME, NatsRpc],
})
export class NatsModule extends GlobalModule {}
