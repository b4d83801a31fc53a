import { IsBoolean, IsNumber, IsString, Matches, Max, Min } from 'class-validator';
import { IntRange, TimeoutCapConfig } from '@executor/common';

/** MAX_TIMEOUT_S, the longest timeout of a template, is in TimeoutCapConfig (the api caps requests with it). */
export class TemplateServiceConfig extends TimeoutCapConfig {
  /** Folder of the built-in templates, one sub-folder each with manifest.json and Dockerfile. */
  @IsString()
  TEMPLATES_DIR = 'templates';

  /** Operators may let custom templates have network access; by default they may not. */
  @IsBoolean()
  ALLOW_NETWORK_TEMPLATES = false;

  /*
   * Caps on every template's limits. A custom template over one is refused (400 naming the
   * field and the cap); a built-in or an earlier registered template over one is held to it.
   */

  /** The most memory a template's sandbox may have (Docker syntax: 512m, 4g). */
  @IsString()
  @Matches(/^[1-9]\d{0,5}[mg]$/i, { message: 'MAX_TEMPLATE_MEMORY must look like 512m or 4g' })
  MAX_TEMPLATE_MEMORY = '4g';

  /** The most CPUs a template's sandbox may have. */
  @IsNumber()
  @Min(0.1)
  @Max(64)
  MAX_TEMPLATE_CPUS = 4;

  /** The most processes at once in a template's sandbox. */
  @IntRange(8, 4096)
  MAX_TEMPLATE_PIDS = 512;

  /**
   * Custom templates one tenant may hold at once (each may build an image); shared ones
   * (registered with an admin key or without keys) count as one more tenant.
   */
  @IntRange(0, 100000)
  MAX_TEMPLATES_PER_TENANT = 50;
}
