import { DynamicModule, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { connect, type NatsConnection } from 'nats';
import { NATS_CONNECTION, SERVICE_NAME } from './nats.constants';
import { NatsRpc } from './nats-rpc';

export interface NatsModuleOptions {
  url: string;
  service: string;
}

/** NATS connection options every process uses: reconnect forever. */
export function natsConnectionOptions(url: string, name: string) {
  return {
    servers: url.split(',').map((s) => s.trim()),
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    waitOnFirstConnect: true,
  };
}

@Injectable()
class NatsCloser implements OnApplicationShutdown {
  constructor(@Inject(NATS_CONNECTION) private readonly nc: NatsConnection) {}
  async onApplicationShutdown(): Promise<void> {
    await this.nc.drain().catch(() => undefined);
  }
}

/**
 * One NATS connection per process for its outgoing calls (NatsRpc), for publishing events as
 * plain JSON and for health round trips. (A service's handlers have their own connection.)
 */
@Module({})
export class NatsModule {
  static forRoot(options: NatsModuleOptions): DynamicModule {
    return {
      module: NatsModule,
      global: true,
      providers: [
        { provide: SERVICE_NAME, useValue: options.service },
        {
          provide: NATS_CONNECTION,
          useFactory: () => connect(natsConnectionOptions(options.url, `${options.service}-events`)),
        },
        NatsRpc,
        NatsCloser,
      ],
      exports: [NATS_CONNECTION, SERVICE_NAME, NatsRpc],
    };
  }
}
