import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { API_VERSION } from '../health/health.controller';

/** The OpenAPI document, generated from the controllers' routes and the DTOs' decorators. */
export function apiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Executor')
    .setVersion(API_VERSION)
    .setDescription(
      'Runs untrusted code in throw-away Docker sandboxes and returns what it printed, drew and wrote. ' +
        'Every error is {status: "error", error: {code, message}}. ' +
        'With API keys configured, send Authorization: Bearer <key> or X-API-Key.',
    )
    .addServer('/')
    .addBearerAuth({ type: 'http', scheme: 'bearer' }, 'bearer')
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key' }, 'apiKey')
    .addSecurityRequirements('bearer')
    .addSecurityRequirements('apiKey')
    // Without keys configured (loopback only), no credentials are needed.
    .addSecurityRequirements({})
    .build();
  return SwaggerModule.createDocument(app, config, {
    operationIdFactory: (controller, method) => `${controller.replace(/Controller$/, '')}_${method}`,
  });
}

/**
 * Swagger UI at /docs (its assets from this process: no CDN) and the document at /openapi.json.
 * /docs/assets/… is where the UI's files were before: it points at where they are now.
 */
export function serveApiDocs(app: INestApplication): void {
  app.use('/docs/assets', (req: Request, res: Response) => res.redirect(301, `/docs${req.url}`));
  SwaggerModule.setup('docs', app, apiDocument(app), {
    jsonDocumentUrl: 'openapi.json',
    raw: ['json'],
    customSiteTitle: 'Executor API',
  });
}
