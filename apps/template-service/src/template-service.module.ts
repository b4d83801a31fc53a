import { DynamicModule, Module } from '@nestjs/common';
import { NatsModule } from '@executor/common';
import { TemplateServiceConfig } from './template-service.config';
import { TemplateCatalog } from './templates/template-catalog';
import { TemplatesController } from './templates/templates.controller';

@Module({})
export class TemplateServiceModule {
  static forRoot(config: TemplateServiceConfig): DynamicModule {
    return {
      module: TemplateServiceModule,
      imports: [NatsModule.forRoot({ url: config.NATS_URL, service: 'template-service' })],
      controllers: [TemplatesController],
      providers: [
        { provide: TemplateServiceConfig, useValue: config },
        {
          provide: TemplateCatalog,
          useFactory: () => {
            const catalog = new TemplateCatalog();
            catalog.load(config.TEMPLATES_DIR);
            return catalog;
          },
        },
      ],
    };
  }
}
