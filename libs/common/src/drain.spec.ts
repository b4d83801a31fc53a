import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { ErrorCode, JSONCodec } from 'nats';
import { DrainingNatsServer, InFlight, InFlightInterceptor } from './drain';
import { natsConnectionOptions } from './nats.module';
import { natsPerTest } from './testing/nats-per-test';

const codec = JSONCodec();
let release: () => void = () => undefined;

@Controller()
class SlowController {
  @MessagePattern('spec.slow')
  async slow(@Payload() data: string): Promise<{ echoed: string }> {
    await new Promise<void>((r) => (release = r));
    return { echoed: data };
  }
}

@Module({ controllers: [SlowController] })
class SlowModule {}

describe('DrainingNatsServer on a real nats-server', () => {
  const nats = natsPerTest('drain-spec-caller');

  it('on close stops taking requests first, lets the one in flight reply, then closes its own connection', async () => {
    const tracker = new InFlight();
    const drained: Array<[boolean, number]> = [];
    const transport = new DrainingNatsServer(
      { ...natsConnectionOptions(nats.server.url, 'drain-spec-server'), queue: 'drain-spec' },
      5000,
      tracker,
      (finished, left) => drained.push([finished, left]),
    );
    const app = await NestFactory.createMicroservice(SlowModule, { strategy: transport, logger: false });
    app.useGlobalInterceptors(new InFlightInterceptor(tracker));
    await app.listen();
    expect(transport.subjects).toEqual(['spec.slow']);
    const serving = transport.connection;
    expect(serving?.connected).toBe(true);

    const request = (id: string) =>
      nats.link.connection.request('spec.slow', codec.encode({ pattern: 'spec.slow', data: id, id }), {
        timeout: 5000,
      });
    const first = request('first');
    while (tracker.size === 0) await new Promise((r) => setTimeout(r, 5));

    const closing = app.close();
    await new Promise((r) => setImmediate(r));
    // Unsubscribed at once, the connection still up for the reply in flight.
    expect(transport.subjects).toEqual([]);
    expect(serving?.connected).toBe(true);
    // Once the server has read the unsubscriptions (a round trip on the same connection),
    // nothing reaches this process: a new request finds no responder at once.
    await serving?.connection.flush();
    await expect(request('second')).rejects.toMatchObject({ code: ErrorCode.NoResponders });

    release();
    expect(codec.decode((await first).data)).toMatchObject({ id: 'first', response: { echoed: 'first' } });
    await closing;
    expect(drained).toEqual([[true, 0]]);
    expect(transport.connection).toBeNull();
    expect(serving?.connection.isClosed()).toBe(true);
  });
});
