import { applyDecorators, Controller, Get, Res, type Type } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { HealthDto, LivenessDto, ReadinessDto } from '@executor/contracts';
import { ApiErrors } from '../openapi/api-responses';
import { ApiHealth } from './api-health';

export const API_VERSION = '0.1.0';

/** A probe's two answers, both a `type`: 200 while the api can serve, 503 when a dependency it needs is down. */
function ApiProbeResponses(type: Type<unknown>, up: string, down: string): MethodDecorator {
  return applyDecorators(
    ApiOkResponse({ type, description: up }),
    ApiServiceUnavailableResponse({ type, description: down }),
  );
}

@ApiTags('health')
@Controller()
export class HealthController {
  constructor(private readonly dependencies: ApiHealth) {}

  /** Liveness: the process answers. No dependency is asked: restarting the api would not bring one back. */
  @Get('livez')
  @ApiOperation({ summary: 'Liveness: the process answers' })
  @ApiOkResponse({ type: LivenessDto })
  @ApiErrors()
  livez() {
    return { status: 'alive', service: 'executor-api', version: API_VERSION };
  }

  /** Readiness: 200 while the api can serve requests (ApiHealth's required checks), 503 naming what is down. */
  @Get('readyz')
  @ApiOperation({ summary: 'Readiness: 503 naming the checks that are down' })
  @ApiProbeResponses(ReadinessDto, 'Ready', 'Unready')
  async readyz(@Res({ passthrough: true }) res: Response) {
    const { down } = await this.dependencies.probe();
    res.status(down.length === 0 ? 200 : 503);
    return down.length === 0 ? { status: 'ready' } : { status: 'unready', unhealthy: down };
  }

  /**
   * Real checks of NATS, Docker (through the runner), the event store and every service; 503
   * (`degraded`) when one the api needs is down. The metrics app's check is reported beside them.
   */
  @Get('health')
  @ApiOperation({ summary: 'Checks of NATS, Docker, the event store and every service' })
  @ApiProbeResponses(HealthDto, 'Healthy', 'Degraded: a dependency is down')
  async health(@Res({ passthrough: true }) res: Response) {
    const { checks, down } = await this.dependencies.probe();
    res.status(down.length === 0 ? 200 : 503);
    return {
      status: down.length === 0 ? 'healthy' : 'degraded',
      service: 'executor-api',
      version: API_VERSION,
      checks,
    };
  }
}
