import 'reflect-metadata';
import { ApiProperty, ApiPropertyOptional, type ApiPropertyOptions } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsInt,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';

export type ImageStatus = 'missing' | 'building' | 'ready' | 'failed' | 'unknown';

/** A template as the runner needs it to start a sandbox. */
export interface TemplateSpec {
  name: string;
  description: string;
  image: string;
  languages: string[];
  /** Docker memory string, e.g. `512m`. */
  memory_limit: string;
  /** CPUs, e.g. 1 or 0.5. */
  cpu_limit: number;
  /** Default timeout in seconds. */
  timeout: number;
  network: boolean;
  pids_limit: number;
  env: Record<string, string>;
  packages: Record<string, string[]>;
  /** Optional OCI runtime, e.g. `runsc` for gVisor. */
  runtime?: string;
  /** The in-sandbox kernel: `python` (light, fast to start), `ipython` (Jupyter semantics) or `node`. */
  kernel: KernelKind;
  /** Further kernels a session of it may start as contexts (`node` beside a Python kernel, say). */
  context_kernels?: KernelKind[];
  /** Modules the kernel imports before a sandbox joins the pool. */
  preload: string[];
  /** Packages the template wants but this installation cannot provide, each with the reason. */
  packages_missing: string[];
  /** How the runner builds the image when it is missing. */
  build: ImageBuildSpec;
  /** A built-in (from templates/) or one registered over the API. */
  builtin: boolean;
  /**
   * The tenant that registered it with a tenant key: only that tenant (and admin keys) can see,
   * use or delete it. Absent for built-ins and for templates registered without keys or with
   * an admin key, which every caller sees.
   */
  tenant_id?: string;
}

/** What the runner needs to build a template's image (it owns Docker). */
export type ImageBuildSpec =
  | { kind: 'builtin'; template: string }
  | {
      kind: 'custom';
      /** Content hash of base and packages: identical sets share one image. */
      hash: string;
      base_image: string;
      packages: { apt: string[]; pip: string[]; npm: string[] };
      setup_commands: string[];
    };

export interface ImageStatusInfo {
  status: ImageStatus;
  size_bytes?: number;
  /** Why the last build failed, and the last lines of its log (or of the build in progress, or of the last one that worked). */
  error?: string;
  log_tail?: string[];
}

export interface ImageBuildRequest {
  image: string;
  template: string;
  build: ImageBuildSpec;
}

export const KERNEL_KINDS = ['python', 'ipython', 'node'] as const;
export type KernelKind = (typeof KERNEL_KINDS)[number];

/** Languages each kernel runs. */
export const KERNEL_LANGUAGES: Record<KernelKind, string[]> = {
  python: ['python', 'bash'],
  ipython: ['python', 'bash'],
  node: ['javascript', 'typescript', 'bash'],
};

/** The kernel that runs `language` in a template: its own kernel first, then its context kernels. */
export function kernelFor(
  template: Pick<TemplateSpec, 'kernel' | 'context_kernels'>,
  language: string,
): KernelKind | undefined {
  return [template.kernel, ...(template.context_kernels ?? [])].find((k) =>
    KERNEL_LANGUAGES[k].includes(language),
  );
}

export interface TemplateSummary {
  name: string;
  description: string;
  memory_limit: string;
  cpu_limit: number;
  timeout: number;
  network: boolean;
  languages: string[];
  package_count: number;
  image_status: ImageStatus;
  image: string;
  image_size?: number;
  kernel: KernelKind;
  builtin: boolean;
  packages: Record<string, string[]>;
  packages_missing: string[];
  /** For a failed build: why, and the last lines of its log; while building, the log so far (its tail); once built here, how the build ended. */
  build_error?: string;
  build_log?: string[];
  /** The owning tenant of a custom template registered with a tenant key (see TemplateSpec). */
  tenant_id?: string;
  pids_limit: number;
}

/**
 * Who asks: a tenant sees built-ins, shared templates and its own; no tenant (the runner, an
 * admin key, a stack without keys) sees every template.
 */
export interface TemplateViewer {
  tenant_id?: string;
}

export interface TemplateGetRequest extends TemplateViewer {
  name: string;
}

export type TemplateListRequest = TemplateViewer;

/** Whether a template is visible to (and usable by) a tenant; no tenant sees all. */
export function templateVisibleTo(
  spec: Pick<TemplateSpec, 'tenant_id'>,
  tenant: string | undefined,
): boolean {
  return tenant === undefined || spec.tenant_id === undefined || spec.tenant_id === tenant;
}

/** What a tenant is told about another tenant's template: the same as about none at all. */
export function templateNotFoundMessage(name: string): string {
  return `template ${JSON.stringify(name.slice(0, 64))} not found`;
}

export interface ImageStatusRequest {
  images: string[];
}

export type ImageStatusReply = Record<string, ImageStatusInfo>;

/** Parses a Docker memory string (`512m`, `2g`, `65536k`, `1048576`) into bytes; null when malformed. */
export function parseMemory(value: string): number | null {
  const m = /^(\d+)([bkmg]?)$/i.exec(value.trim());
  if (!m) return null;
  const n = Number(m[1]);
  const unit = m[2].toLowerCase();
  const factor = unit === 'g' ? 1024 ** 3 : unit === 'm' ? 1024 ** 2 : unit === 'k' ? 1024 : 1;
  const bytes = n * factor;
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : null;
}

export const TEMPLATE_NAME_PATTERN = /^[a-z][a-z0-9-]{1,39}$/;
const APT_NAME = /^[a-z0-9][a-z0-9+.-]{0,99}$/;
const PIP_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}([<>=!~]=?[A-Za-z0-9.*+!-]{1,40})?$/;
const MEMORY_LIMIT = /^\d{1,5}[mg]$/;
const NPM_NAME = /^(@[a-z0-9-~][a-z0-9-._~]*\/)?[a-z0-9-~][a-z0-9-._~]{0,213}(@[A-Za-z0-9.^~<>=*|-]{1,40})?$/;

const PACKAGE_LIST = (pattern: RegExp, description: string): ApiPropertyOptions => ({
  type: 'array',
  maxItems: 100,
  items: { type: 'string', pattern: pattern.source },
  description,
});

export class TemplatePackagesDto {
  @ApiPropertyOptional(PACKAGE_LIST(APT_NAME, 'Debian packages'))
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @Matches(APT_NAME, { each: true, message: 'packages.apt must hold Debian package names' })
  apt?: string[];

  @ApiPropertyOptional(PACKAGE_LIST(PIP_NAME, 'Python packages, optionally ==version'))
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @Matches(PIP_NAME, {
    each: true,
    message: 'packages.pip must hold Python package names (optionally ==version)',
  })
  pip?: string[];

  @ApiPropertyOptional(PACKAGE_LIST(NPM_NAME, 'npm packages, optionally @version'))
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @Matches(NPM_NAME, {
    each: true,
    message: 'packages.npm must hold npm package names (optionally @version)',
  })
  npm?: string[];
}

/** `POST /templates`: a custom template on top of a built-in one. */
export class RegisterTemplateDto {
  @ApiProperty({ pattern: TEMPLATE_NAME_PATTERN.source, example: 'node-lodash' })
  @IsString()
  @Matches(TEMPLATE_NAME_PATTERN, {
    message: 'name must be 2-40 lowercase letters, digits and -, starting with a letter',
  })
  name: string;

  @ApiPropertyOptional({ maxLength: 300 })
  @IsOptional()
  @IsString()
  @MaxLength(300)
  description?: string;

  @ApiProperty({
    pattern: TEMPLATE_NAME_PATTERN.source,
    description: 'A built-in template',
    example: 'node-basic',
  })
  @IsString()
  @Matches(TEMPLATE_NAME_PATTERN, { message: 'base must be the name of a built-in template' })
  base: string;

  @ApiPropertyOptional({ type: () => TemplatePackagesDto, example: { npm: ['lodash'] } })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => TemplatePackagesDto)
  packages?: TemplatePackagesDto;

  @ApiPropertyOptional({
    pattern: MEMORY_LIMIT.source,
    example: '512m',
    description: "The base's when omitted",
  })
  @IsOptional()
  @IsString()
  @Matches(MEMORY_LIMIT, { message: 'memory_limit must look like 512m or 2g' })
  memory_limit?: string;

  @ApiPropertyOptional({ minimum: 0.1, maximum: 8, description: 'CPUs' })
  @IsOptional()
  @IsNumber({}, { message: 'cpu_limit must be a number of CPUs' })
  @Min(0.1)
  @Max(8)
  cpu_limit?: number;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: 3600,
    description: 'Default timeout in seconds',
  })
  @IsOptional()
  @IsInt({ message: 'timeout must be a whole number of seconds' })
  @Min(1)
  @Max(3600)
  timeout?: number;

  /** Processes at once in a sandbox; the base template's when omitted. */
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 8,
    maximum: 4096,
    description: 'Processes at once in a sandbox',
  })
  @IsOptional()
  @IsInt({ message: 'pids_limit must be a whole number of processes' })
  @Min(8)
  @Max(4096)
  pids_limit?: number;

  @ApiPropertyOptional({ description: 'Refused unless the operator allows networked templates' })
  @IsOptional()
  @IsBoolean()
  network?: boolean;

  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' } })
  @IsOptional()
  @IsObject()
  env?: Record<string, string>;

  @ApiPropertyOptional({
    type: 'array',
    maxItems: 20,
    items: { type: 'string', maxLength: 1000 },
    description: 'Shell commands run at build time, without root or network',
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(20)
  @IsString({ each: true })
  @MaxLength(1000, { each: true })
  setup_commands?: string[];
}

/** api -> template-service; `tenant_id` (a tenant key's) becomes the template's owner. */
export type RegisterTemplateCommand = RegisterTemplateDto & TemplateViewer & { correlation_id: string };

/** api -> template-service. */
export type DeleteTemplateCommand = TemplateGetRequest & { correlation_id: string };
