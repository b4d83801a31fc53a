import { DynamicModule, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { ClientProxyFactory, Transport } from '@nestjs/microservices';
import { connect, type NatsConnection } from 'nats';
import { NATS_CLIENT, NATS_CONNECTION, SERVICE_NAME } from './nats.constants';
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
 * A Nest ClientProxy for request/reply (wrapped by NatsRpc) and a raw connection
 * for publishing events as plain JSON and for health round trips.
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
          provide: NATS_CLIENT,
          useFactory: () =>
            ClientProxyFactory.create({
              transport: Transport.NATS,
              options: natsConnectionOptions(options.url, `${options.service}-client`),
            }),
        },
        {
          provide: NATS_CONNECTION,
          useFactory: () => connect(natsConnectionOptions(options.url, `${options.service}-events`)),
        },
        NatsRpc,
        NatsCloser,
      ],
      exports: [NATS_CLIENT, NATS_CONNECTION, SERVICE_NAME, NatsRpc],
    };
  }
}
