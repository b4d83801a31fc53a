import { ConfigurableModuleBuilder } from '@nestjs/common';

/**
 * The base of a module with `forRoot(options)` whose providers every module of the process
 * shares (one NATS connection, one event store, one metrics registry), from Nest's
 * ConfigurableModuleBuilder: its providers inject the options as `OPTIONS`.
 */
export function globalModuleWithOptions<Options>(moduleName: string) {
  const { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN } = new ConfigurableModuleBuilder<Options>({
    moduleName,
  })
    .setClassMethodName('forRoot')
    .setExtras({}, (definition) => ({ ...definition, global: true }))
    .build();
  return { GlobalModule: ConfigurableModuleClass, OPTIONS: MODULE_OPTIONS_TOKEN };
}
