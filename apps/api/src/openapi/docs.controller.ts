import { Controller, Get, Header } from '@nestjs/common';
import { openApiDocument } from './openapi';

const PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Executor API</title><link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div><script src="/docs/assets/swagger-ui-bundle.js"></script><script src="/docs/init.js"></script></body>
</html>
`;

/** The OpenAPI document and a docs page (Swagger UI, served from this process: no CDN). */
@Controller()
export class DocsController {
  private readonly document = openApiDocument();

  @Get('openapi.json')
  openapi(): Record<string, unknown> {
    return this.document;
  }

  @Get('docs')
  @Header('Content-Type', 'text/html; charset=utf-8')
  docs(): string {
    return PAGE;
  }

  @Get('docs/init.js')
  @Header('Content-Type', 'application/javascript; charset=utf-8')
  init(): string {
    return "window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui' });\n";
  }
}
