import { IsBoolean, IsString } from 'class-validator';
import { BaseConfig } from '@executor/common';

export class TemplateServiceConfig extends BaseConfig {
  /** Folder of the built-in templates, one sub-folder each with manifest.json and Dockerfile. */
  @IsString()
  TEMPLATES_DIR = 'templates';

  /** Operators may let custom templates have network access; by default they may not. */
  @IsBoolean()
  ALLOW_NETWORK_TEMPLATES = false;
}
