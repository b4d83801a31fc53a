import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { jsonLogger, loadConfig, runService } from '@executor/common';
import { ApiConfig } from './api.config';
import { ApiModule } from './api.module';
import { jsonBody, requestId } from './http/body';
import { HttpErrorFilter } from './http/http-error.filter';
import { validationPipe } from './http/validation';

runService('api', async () => {
  const config = loadConfig(ApiConfig);
  const app = await NestFactory.create<NestExpressApplication>(ApiModule.forRoot(config), {
    bodyParser: false,
    logger: jsonLogger('api'),
  });
  app.disable('x-powered-by');
  app.use(requestId);
  app.use(jsonBody(config.BODY_LIMIT));
  app.useGlobalPipes(validationPipe());
  app.useGlobalFilters(new HttpErrorFilter());
  app.enableShutdownHooks();
  await app.listen(config.API_PORT, config.API_HOST);
  new Logger('api').log(`listening on http://${config.API_HOST}:${config.API_PORT}`);
});
