import { Injectable, Logger } from '@nestjs/common';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { TemplateSpec } from '@executor/contracts';
import { parseManifest } from './manifest';

/** The built-in templates, read from `templates/<name>/manifest.json` at start. */
@Injectable()
export class TemplateCatalog {
  private readonly logger = new Logger(TemplateCatalog.name);
  private readonly templates = new Map<string, TemplateSpec>();

  load(dir: string): void {
    const root = resolve(dir);
    for (const entry of readdirSync(root, { withFileTypes: true })) {
      const file = join(root, entry.name, 'manifest.json');
      if (!entry.isDirectory() || !existsSync(file)) continue;
      try {
        const spec = parseManifest(JSON.parse(readFileSync(file, 'utf8')));
        if (spec.name !== entry.name)
          throw new Error(`name ${spec.name} differs from its folder ${entry.name}`);
        this.templates.set(spec.name, spec);
      } catch (err) {
        // One bad manifest must not take the others down; it is named in the log.
        this.logger.error(
          `template ${entry.name} skipped: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
    }
    this.logger.log(`loaded ${this.templates.size} template(s): ${[...this.templates.keys()].join(', ')}`);
  }

  get(name: string): TemplateSpec | undefined {
    return this.templates.get(name);
  }

  all(): TemplateSpec[] {
    return [...this.templates.values()].sort((a, b) => a.name.localeCompare(b.name));
  }
}
