import { Module } from '@nestjs/common';
import { EventRecorder } from '@executor/common';
import { EventStore } from '@executor/event-store';
import { TemplateServiceConfig } from './template-service.config';
import { capsOf } from './templates/template-caps';
import { TemplateCatalog } from './templates/template-catalog';
import { TemplatesController } from './templates/templates.controller';

/** NATS, the event store and TemplateServiceConfig come from runMicroservice. */
@Module({
  controllers: [TemplatesController],
  providers: [
    {
      provide: TemplateCatalog,
      inject: [TemplateServiceConfig, EventStore, EventRecorder],
      useFactory: async (config: TemplateServiceConfig, store: EventStore, recorder: EventRecorder) => {
        const catalog = new TemplateCatalog(store, recorder, capsOf(config));
        catalog.loadBuiltins(config.TEMPLATES_DIR);
        await catalog.loadCustom();
        return catalog;
      },
    },
  ],
})
export class TemplateServiceModule {}
