import 'reflect-metadata';
import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateBy,
  ValidateNested,
  ValidationOptions,
} from 'class-validator';
import { workspacePathError } from './workspace-path';

export const MAX_CODE_CHARS = 1024 * 1024;
export const MAX_TIMEOUT_SECONDS = 300;
export const MAX_FILES_PER_REQUEST = 100;
export const MAX_ENV_ENTRIES = 64;
export const MAX_STDIN_CHARS = 1024 * 1024;

/** Other names callers use for a language (E2B's `js`, for one). */
const LANGUAGE_ALIASES: Record<string, string> = {
  js: 'javascript',
  node: 'javascript',
  ts: 'typescript',
  sh: 'bash',
  py: 'python',
};

/** The language a caller means: aliases resolved, anything else as it was given. */
export function normalizeLanguage(language: string | undefined): string | undefined {
  return language === undefined ? undefined : (LANGUAGE_ALIASES[language] ?? language);
}
export const NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const TENANT_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
export const SCOPE_PATTERN = /^[A-Za-z0-9_.:@/-]{1,256}$/;
export const LANGUAGE_PATTERN = /^[a-z][a-z0-9+-]{0,31}$/;

/*
 * The checks of the names every request may carry, one place each. applyDecorators applies in
 * the order given, stacked decorators the last first: listed last first, the messages keep their order.
 */
/** A tenant id: 1-64 letters, digits, _ . - (starting with a letter or digit). */
export const IsTenantId = () =>
  applyDecorators(
    Matches(TENANT_PATTERN, {
      message: 'tenant_id must be 1-64 letters, digits, _ . - (starting with a letter or digit)',
    }),
    IsString(),
  );
/** A scope: 1-256 letters, digits or _ . : @ / -. */
export const IsScope = () =>
  applyDecorators(
    Matches(SCOPE_PATTERN, { message: 'scope must be 1-256 letters, digits or _ . : @ / -' }),
    IsString(),
  );
/** A template's name, as a request names the template to run in. */
export const IsTemplateName = () =>
  applyDecorators(
    Matches(NAME_PATTERN, { message: 'template must be a template name (lowercase letters, digits, -)' }),
    IsString(),
  );
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

export function IsWorkspacePath(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isWorkspacePath',
      validator: {
        validate: (value) => workspacePathError(value) === null,
        defaultMessage: (args) => `${args?.property}: ${workspacePathError(args?.value)}`,
      },
    },
    options,
  );
}

export function IsEnvMap(options?: ValidationOptions): PropertyDecorator {
  const problem = (value: unknown): string | null => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'must be an object';
    const entries = Object.entries(value);
    if (entries.length > MAX_ENV_ENTRIES) return `must have at most ${MAX_ENV_ENTRIES} entries`;
    for (const [k, v] of entries) {
      if (!ENV_KEY.test(k)) return `has an invalid variable name ${JSON.stringify(k.slice(0, 40))}`;
      if (typeof v !== 'string') return `value of ${k} must be a string`;
      if (v.length > 32768 || v.includes('\0')) return `value of ${k} is too long or contains NUL`;
    }
    return null;
  };
  return ValidateBy(
    {
      name: 'isEnvMap',
      validator: {
        validate: (value) => problem(value) === null,
        defaultMessage: (args) => `${args?.property} ${problem(args?.value)}`,
      },
    },
    options,
  );
}

export class FileInputDto {
  @ApiProperty({
    description: 'Relative to /workspace: no absolute paths, no .., no NUL',
    example: 'data.csv',
  })
  @IsString()
  @IsWorkspacePath()
  path: string;

  @ApiProperty({ description: 'Text, or base64 with encoding base64; at most 10 MB decoded' })
  @IsString()
  content: string;

  @ApiPropertyOptional({ enum: ['utf8', 'base64'], default: 'utf8' })
  @IsOptional()
  @IsIn(['utf8', 'base64'])
  encoding?: 'utf8' | 'base64';
}

/** Environment variables: names of letters, digits and _, string values. */
export const ENV_MAP_SCHEMA = {
  type: 'object',
  additionalProperties: { type: 'string', maxLength: 32768 },
  maxProperties: MAX_ENV_ENTRIES,
} as const;

/** What every run asks for: the code and how to run it (one-off and in a session). */
export class CodeRunDto {
  @ApiProperty({ maxLength: MAX_CODE_CHARS, example: "print('Hello, Sandbox!')" })
  @IsString()
  @IsNotEmpty()
  @MaxLength(MAX_CODE_CHARS, { message: `code must be at most ${MAX_CODE_CHARS} characters` })
  code: string;

  @ApiPropertyOptional({
    description: "The template's first language when omitted; aliases: js, node, sh, py",
    pattern: LANGUAGE_PATTERN.source,
    example: 'python',
  })
  @IsOptional()
  @IsString()
  @Matches(LANGUAGE_PATTERN, { message: 'language must be a language name such as python' })
  language?: string;

  @ApiPropertyOptional({ type: () => [FileInputDto], maxItems: MAX_FILES_PER_REQUEST })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_FILES_PER_REQUEST)
  @ValidateNested({ each: true })
  @Type(() => FileInputDto)
  files?: FileInputDto[];

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: MAX_TIMEOUT_SECONDS,
    description: "Seconds; the template's when omitted. A run that times out is a 200 with timed_out",
  })
  @IsOptional()
  @IsInt({ message: 'timeout must be a whole number of seconds' })
  @Min(1)
  @Max(MAX_TIMEOUT_SECONDS)
  timeout?: number;

  /** Send stdout, stderr and results as they happen (NDJSON), then the result. */
  @ApiPropertyOptional({
    description: 'Send stdout, stderr and results as they happen (NDJSON), then the result',
  })
  @IsOptional()
  @IsBoolean()
  stream?: boolean;

  /** What the program reads on its standard input (Python's sys.stdin, bash's stdin); empty otherwise. */
  @ApiPropertyOptional({
    maxLength: MAX_STDIN_CHARS,
    description: 'What the program reads on its standard input',
  })
  @IsOptional()
  @IsString()
  @MaxLength(MAX_STDIN_CHARS, { message: `stdin must be at most ${MAX_STDIN_CHARS} characters` })
  stdin?: string;

  /** Environment variables for this run only (in a session: over the session's own, not kept after it). */
  @ApiPropertyOptional({ ...ENV_MAP_SCHEMA, description: 'Environment variables for this run only' })
  @IsOptional()
  @IsObject()
  @IsEnvMap()
  env?: Record<string, string>;
}

/** `POST /execute` body. */
export class ExecuteRequestDto extends CodeRunDto {
  @ApiProperty({ pattern: TENANT_PATTERN.source, example: 'acme' })
  @IsTenantId()
  tenant_id: string;

  @ApiPropertyOptional({ pattern: SCOPE_PATTERN.source, default: 'default', example: 'chat-1' })
  @IsOptional()
  @IsScope()
  scope?: string;

  @ApiPropertyOptional({ pattern: NAME_PATTERN.source, default: 'default', example: 'default' })
  @IsOptional()
  @IsTemplateName()
  template?: string;

  /** Run in gVisor (`runsc`) instead of the template's runtime, where the engine has it. */
  @ApiPropertyOptional({ enum: ['runsc'], description: "Run in gVisor instead of the template's runtime" })
  @IsOptional()
  @IsIn(['runsc'], { message: 'runtime must be runsc (gVisor) when given' })
  runtime?: 'runsc';
}

/** A file as it travels to the runner: always base64. */
export interface FilePayload {
  path: string;
  content_b64: string;
}

/** api -> session-service. */
export interface ExecuteCommand {
  tenant_id: string;
  scope: string;
  code: string;
  language?: string;
  template?: string;
  files: FilePayload[];
  timeout?: number;
  /** The tenant's longest timeout: a template default over it is held to it. */
  max_timeout?: number;
  env: Record<string, string>;
  runtime?: 'runsc';
  stdin?: string;
  /** Set when the caller streams: output frames go to streamSubject(stream_id). */
  stream_id?: string;
  correlation_id: string;
}

/** session-service -> runner. Template is resolved; language and timeout are decided. */
export interface RunnerExecuteCommand {
  execution_id: string;
  tenant_id: string;
  scope: string;
  code: string;
  language: string;
  template: import('./templates').TemplateSpec;
  files: FilePayload[];
  timeout: number;
  env: Record<string, string>;
  stdin?: string;
  stream_id?: string;
  correlation_id: string;
}

export interface Artifact {
  /** MIME type. */
  type: string;
  name: string;
  /** base64 when `encoding` is base64, text otherwise. */
  content: string;
  encoding: 'base64' | 'utf8';
  size: number;
}

/** A rich result as Jupyter has it: a MIME bundle (binary values base64). */
export interface RichResult {
  data: Record<string, unknown>;
  /** True for the value of the last expression; false for display() and figures. */
  is_main_result: boolean;
  /** In a session: the count of the run that made it (Jupyter's execution_count). */
  execution_count?: number;
}

export interface ExecutionError {
  name: string;
  value: string;
  traceback?: string;
}

export type ExecutionStatus = 'success' | 'error' | 'timeout' | 'oom' | 'sandbox_died';

/** The result shape of `POST /execute` (README, API). */
export interface ExecutionResult {
  status: ExecutionStatus;
  execution_id: string;
  template: string;
  language: string;
  exit_code: number;
  stdout: string;
  stderr: string;
  /** Seconds, wall clock of the user's code. */
  execution_time: number;
  results: RichResult[];
  artifacts: Artifact[];
  error?: ExecutionError;
  timed_out: boolean;
  oom_killed: boolean;
  truncated: boolean;
}
