import {
  Equals,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateIf,
} from 'class-validator';
import { Type } from 'class-transformer';
import { applyDecorators } from '@nestjs/common';
import { PartialType } from '@nestjs/swagger';
import { IsEnvMap, IsMetadata, LANGUAGE_PATTERN, MAX_SESSION_TTL_SECONDS } from '@executor/contracts';

/** A language name, optional; null (as E2B's SDKs send for "the default") counts as absent. */
function IsLanguageOrNull(): PropertyDecorator {
  // Listed in the order stacked decorators apply (the last first), so the messages keep theirs.
  return applyDecorators(
    Matches(LANGUAGE_PATTERN, { message: 'language must be a language name such as python' }),
    IsString(),
    ValidateIf((_o, v) => v !== null),
    IsOptional(),
  );
}

/**
 * The bodies and queries of E2B's API as its SDKs send them (e2b-dev/E2B spec/openapi.yml),
 * checked like ours: an unknown field is refused by name, so an E2B feature we do not have
 * (volumes, MCP, egress rules, pausing) is a clear 400 instead of being ignored.
 */
export class E2bCreateSandboxDto {
  @IsString()
  @Matches(/^[a-z0-9][a-z0-9-]{0,62}$/, {
    message: 'templateID must be a template name (lowercase letters, digits, -)',
  })
  templateID: string;

  /** Seconds the sandbox lives from now (E2B's default: 300). */
  @IsOptional()
  @IsInt({ message: 'timeout must be a whole number of seconds' })
  @Min(1)
  @Max(MAX_SESSION_TTL_SECONDS)
  timeout?: number;

  @IsOptional()
  @IsObject()
  @IsMetadata()
  metadata?: Record<string, string>;

  @IsOptional()
  @IsObject()
  @IsEnvMap()
  envVars?: Record<string, string>;

  /** Every access to a sandbox needs its token here, whatever this says. */
  @IsOptional()
  secure?: boolean;

  /** Sandboxes have no network; only `false` (what they get anyway) is accepted. */
  @IsOptional()
  @Equals(false, {
    message: 'allow_internet_access: sandboxes have no network here (only false is accepted)',
  })
  allow_internet_access?: boolean;

  /** Sandboxes end at their timeout; they are never paused. */
  @IsOptional()
  @Equals(false, { message: 'autoPause: sandboxes cannot be paused here (only false is accepted)' })
  autoPause?: boolean;
}

export class E2bTimeoutDto {
  @IsInt({ message: 'timeout must be a whole number of seconds' })
  @Min(1)
  @Max(MAX_SESSION_TTL_SECONDS)
  timeout: number;
}

export class E2bConnectDto extends PartialType(E2bTimeoutDto) {}

/** `GET /v2/sandboxes`: metadata as `k=v&k2=v2` (URL-encoded once more), states comma-separated. */
export class E2bListQueryDto {
  @IsOptional()
  @IsString()
  @MaxLength(8192)
  metadata?: string;

  @IsOptional()
  @IsString()
  @Matches(/^(running|paused)(,(running|paused))*$/, { message: 'state must be running and/or paused' })
  state?: string;

  @IsOptional()
  @IsString()
  @MaxLength(64)
  template?: string;

  @IsOptional()
  @IsString()
  @MaxLength(64)
  startedAfter?: string;

  @IsOptional()
  @IsIn(['asc', 'desc'])
  order?: 'asc' | 'desc';

  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'limit must be a whole number' })
  @Min(1)
  @Max(1000)
  limit?: number;

  @IsOptional()
  @IsString()
  @Matches(/^\d{1,6}$/, { message: 'nextToken must be a token from an earlier page' })
  nextToken?: string;
}

/** `POST /execute` of the code interpreter. */
export class E2bExecuteDto {
  @IsString()
  code: string;

  @IsOptional()
  @ValidateIf((_o, v) => v !== null)
  @IsUUID('4', { message: 'context_id must be a context id' })
  context_id?: string | null;

  @IsLanguageOrNull()
  language?: string | null;

  @IsOptional()
  @ValidateIf((_o, v) => v !== null)
  @IsObject()
  @IsEnvMap()
  env_vars?: Record<string, string> | null;
}

/** `POST /contexts` of the code interpreter. */
export class E2bContextDto {
  @IsLanguageOrNull()
  language?: string | null;

  @IsOptional()
  @ValidateIf((_o, v) => v !== null)
  @IsString()
  @MaxLength(1024)
  cwd?: string | null;
}

export class E2bFilesQueryDto {
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  path?: string;

  /** The user E2B runs as; every sandbox here has one user. */
  @IsOptional()
  @IsString()
  @MaxLength(64)
  username?: string;

  @IsOptional()
  @IsString()
  signature?: string;

  @IsOptional()
  @IsString()
  signature_expiration?: string;
}
