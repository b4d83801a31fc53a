import { IsString } from 'class-validator';
import { BaseConfig } from '@executor/common';

export class TemplateServiceConfig extends BaseConfig {
  /** Folder of the built-in templates, one sub-folder each with manifest.json and Dockerfile. */
  @IsString()
  TEMPLATES_DIR = 'templates';
}
