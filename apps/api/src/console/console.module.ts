import { Module } from '@nestjs/common';
import { join } from 'node:path';
import { findRepoRoot } from '@executor/common';
import { ConsoleController } from './console.controller';
import { ConsoleAssets } from './console-assets';

/** GET /console: the web console that scripts/build-console.js bundles into dist/console. */
@Module({
  controllers: [ConsoleController],
  providers: [
    {
      provide: ConsoleAssets,
      useFactory: () => new ConsoleAssets(join(findRepoRoot(__dirname), 'dist', 'console')),
    },
  ],
})
export class ConsoleModule {}
