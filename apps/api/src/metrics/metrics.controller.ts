import { Controller, Get, Header, Inject, Req } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { NatsConnection } from 'nats';
import { Registry } from 'prom-client';
import { MetricsReplyDto, Subjects } from '@executor/contracts';
import { mergeRegistries, NATS_CONNECTION, NatsRpc, Scraper, type RegistryJson } from '@executor/common';
import { ApiConfig } from '../api.config';
import { seesTenants, type AuthedRequest } from '../auth/auth.guard';
import { ApiErrors } from '../openapi/api-responses';

/** How long a scrape may wait for the processes on the bus, and for a new one after the last. */
const SCRAPE_WAIT_MS = 2000;
const SCRAPE_QUIET_MS = 400;

/** Drops the series that name a tenant (`tenant` label). */
function withoutTenants(registries: RegistryJson[]): RegistryJson[] {
  return registries.map((metrics) =>
    metrics
      .map((m) => ({ ...m, values: m.values.filter((v) => !('tenant' in (v.labels ?? {}))) }))
      .filter((m) => m.values.length > 0),
  );
}

@ApiTags('metrics')
@Controller('metrics')
export class MetricsController {
  private readonly scraper: Scraper;

  constructor(
    private readonly rpc: NatsRpc,
    @Inject(ApiConfig) private readonly config: ApiConfig,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    private readonly registry: Registry,
  ) {
    this.scraper = new Scraper(nc, { maxWaitMs: SCRAPE_WAIT_MS, quietMs: SCRAPE_QUIET_MS });
  }

  @Get()
  @ApiOperation({ summary: 'Metrics projected from the event log' })
  @ApiOkResponse({ type: MetricsReplyDto })
  @ApiErrors()
  async metrics(@Req() req: AuthedRequest) {
    const metrics = await this.rpc.send(Subjects.MetricsGet, {}, this.config.RPC_TIMEOUT_MS);
    if (!seesTenants(req)) delete metrics.executions_by_tenant;
    return { status: 'success', metrics };
  }

  /**
   * Every process's registry, merged: each app's process and runtime metrics, the api's HTTP
   * histogram, the runner's gauges and the metrics app's projection. Without NATS, the api's own.
   */
  @Get('prometheus')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  @ApiOperation({ summary: 'Prometheus text exposition (version 0.0.4)' })
  @ApiOkResponse({
    description: 'text/plain; version=0.0.4',
    content: { 'text/plain': { schema: { type: 'string' } } },
  })
  @ApiErrors()
  async prometheus(@Req() req: AuthedRequest): Promise<string> {
    let registries: RegistryJson[];
    try {
      registries = await this.scraper.scrape();
    } catch {
      registries = [];
    }
    if (registries.length === 0) registries = [await this.registry.getMetricsAsJSON()];
    return mergeRegistries(seesTenants(req) ? registries : withoutTenants(registries)).metrics();
  }
}
