import { DynamicModule, Module } from '@nestjs/common';
import { EventRecorder, serviceInfrastructure } from '@executor/common';
import { EventStore } from '@executor/event-store';
import { TemplateServiceConfig } from './template-service.config';
import { capsOf } from './templates/template-caps';
import { TemplateCatalog } from './templates/template-catalog';
import { TemplatesController } from './templates/templates.controller';

@Module({})
export class TemplateServiceModule {
  static forRoot(config: TemplateServiceConfig): DynamicModule {
    return {
      module: TemplateServiceModule,
      imports: serviceInfrastructure('template-service', config),
      controllers: [TemplatesController],
      providers: [
        { provide: TemplateServiceConfig, useValue: config },
        {
          provide: TemplateCatalog,
          inject: [EventStore, EventRecorder],
          useFactory: async (store: EventStore, recorder: EventRecorder) => {
            const catalog = new TemplateCatalog(store, recorder, capsOf(config));
            catalog.loadBuiltins(config.TEMPLATES_DIR);
            await catalog.loadCustom();
            return catalog;
          },
        },
      ],
    };
  }
}
