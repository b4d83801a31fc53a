import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger as PinoNestLogger } from 'nestjs-pino';
import { Registry } from 'prom-client';
import type { NestExpressApplication } from '@nestjs/platform-express';
import helmet from 'helmet';
import { ConfigError, loadConfig, observedService, runService } from '@executor/common';
import { ApiKeys } from './auth/api-keys';
import { AuthGuard } from './auth/auth.guard';
import { ApiConfig } from './api.config';
import { ApiModule } from './api.module';
import { jsonBody, requestContext, requestId } from './http/body';
import { httpMetrics } from './http/http-metrics';
import { requestLogOptions } from './http/request-log';
import { HttpErrorFilter } from './http/http-error.filter';
import { validationPipe } from './http/validation';
import { serveApiDocs } from './openapi/api-docs';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1)$/;

runService('api', async () => {
  const config = loadConfig(ApiConfig);
  const keys = ApiKeys.load(config.API_KEYS_FILE, config.EXECUTOR_API_KEYS);
  if (!keys.enabled && !LOOPBACK.test(config.API_HOST)) {
    throw new ConfigError(
      `no API keys are configured: refusing to serve on ${config.API_HOST}; configure keys or bind 127.0.0.1`,
    );
  }
  const app = await NestFactory.create<NestExpressApplication>(
    observedService('api', ApiModule.forRoot(config), requestLogOptions()),
    { bodyParser: false, bufferLogs: true },
  );
  app.useLogger(app.get(PinoNestLogger));
  app.disable('x-powered-by');
  // Replies are answers to POSTs and live state, never cached: hashing each body for an ETag is waste.
  app.set('etag', false);
  app.use(helmet());
  if (config.CORS_ORIGINS) app.enableCors({ origin: config.CORS_ORIGINS.split(',').map((o) => o.trim()) });
  app.use(requestId);
  app.use(httpMetrics(app.get(Registry)));
  app.use(jsonBody(config.BODY_LIMIT));
  app.use(requestContext);
  app.useGlobalPipes(validationPipe());
  app.useGlobalGuards(new AuthGuard(keys, config.METRICS_SCRAPE_TOKEN));
  app.useGlobalFilters(new HttpErrorFilter());
  serveApiDocs(app);
  app.enableShutdownHooks();
  await app.listen(config.API_PORT, config.API_HOST);
  new Logger('api').log(
    `listening on http://${config.API_HOST}:${config.API_PORT}` +
      (keys.enabled ? ' with API keys' : ' without API keys: loopback only, anyone on this host may call it'),
  );
});
