import 'reflect-metadata';
import { ApiProperty, ApiPropertyOptional, IntersectionType } from '@nestjs/swagger';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  Max,
  Min,
  ValidateBy,
} from 'class-validator';
import {
  CodeRunDto,
  FileInputDto,
  ENV_MAP_SCHEMA,
  IsEnvMap,
  LANGUAGE_PATTERN,
  IsWorkspacePath,
  NAME_PATTERN,
  SCOPE_PATTERN,
  TENANT_PATTERN,
  IsScope,
  IsTemplateName,
  IsTenantId,
  type ExecutionResult,
  type FilePayload,
} from './execution';
import type { TemplateSpec } from './templates';
import { workspacePathError } from './workspace-path';

export const MAX_SESSION_TTL_SECONDS = 86400;
const TENANT = { pattern: TENANT_PATTERN.source, example: 'acme' };
const OPTIONAL_TENANT = {
  ...TENANT,
  description: "Until API keys bind a tenant, a caller names its tenant; another tenant's session is a 404",
};
const SESSION_ID = { format: 'uuid', example: '5b0e1c1e-2f7a-4a43-9d3b-8d5f0f3c2a11' };
const SECONDS = { type: 'integer', minimum: 1, maximum: MAX_SESSION_TTL_SECONDS } as const;
const WORKSPACE_PATH = {
  description: 'Relative to /workspace: no absolute paths, no .., no NUL',
  example: 'data.csv',
};

/** Small string labels a caller attaches to a session. */
export function IsMetadata(): PropertyDecorator {
  const problem = (value: unknown): string | null => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'must be an object';
    const entries = Object.entries(value);
    if (entries.length > 32) return 'must have at most 32 entries';
    for (const [k, v] of entries) {
      if (!/^[A-Za-z0-9_.-]{1,64}$/.test(k)) return `has an invalid key ${JSON.stringify(k.slice(0, 40))}`;
      if (typeof v !== 'string' || v.length > 256)
        return `value of ${k} must be a string of at most 256 characters`;
    }
    return null;
  };
  return ValidateBy({
    name: 'isMetadata',
    validator: {
      validate: (value) => problem(value) === null,
      defaultMessage: (args) => `${args?.property} ${problem(args?.value)}`,
    },
  });
}

/** A directory path in /workspace; `""` or `.` is /workspace itself. */
function IsDirPath(): PropertyDecorator {
  const ok = (value: unknown) => value === '' || value === '.' || workspacePathError(value) === null;
  return ValidateBy({
    name: 'isWorkspaceDir',
    validator: {
      validate: ok,
      defaultMessage: (args) => `${args?.property}: ${workspacePathError(args?.value)}`,
    },
  });
}

export class SessionCreateDto {
  @ApiProperty(TENANT)
  @IsTenantId()
  tenant_id: string;

  @ApiProperty({ pattern: SCOPE_PATTERN.source, example: 'chat-1' })
  @IsScope()
  scope: string;

  @ApiPropertyOptional({ pattern: NAME_PATTERN.source, default: 'default', example: 'python-data' })
  @IsOptional()
  @IsTemplateName()
  template?: string;

  @ApiPropertyOptional({ ...SECONDS, description: 'Idle seconds before it expires', example: 600 })
  @IsOptional()
  @IsInt({ message: 'ttl must be a whole number of seconds' })
  @Min(1)
  @Max(MAX_SESSION_TTL_SECONDS)
  ttl?: number;

  /** Seconds from now after which the session ends, busy or not (the idle `ttl` still applies). */
  @ApiPropertyOptional({
    ...SECONDS,
    description: 'Seconds from now after which the session ends, busy or not',
  })
  @IsOptional()
  @IsInt({ message: 'lifetime must be a whole number of seconds' })
  @Min(1)
  @Max(MAX_SESSION_TTL_SECONDS)
  lifetime?: number;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string', maxLength: 256 },
    maxProperties: 32,
    description: 'Small string labels',
  })
  @IsOptional()
  @IsObject()
  @IsMetadata()
  metadata?: Record<string, string>;

  /** `false` always makes a new session, even when a live one matches. */
  @ApiPropertyOptional({
    default: true,
    description: 'false always makes a new session, even when a live one matches',
  })
  @IsOptional()
  @IsBoolean()
  reuse?: boolean;

  /**
   * Environment variables of every run of the session (a run's own `env` wins for that run).
   * Kept with the sandbox only, never in an event: a session-service restart keeps them, a lost
   * sandbox takes them with it.
   */
  @ApiPropertyOptional({
    ...ENV_MAP_SCHEMA,
    description: 'Environment variables of every run of the session',
  })
  @IsOptional()
  @IsObject()
  @IsEnvMap()
  env?: Record<string, string>;
}

class SessionRef {
  @ApiProperty(SESSION_ID)
  @IsUUID('4', { message: 'session_id must be a session id (UUID)' })
  session_id: string;

  /** Until API keys bind a tenant, a caller names its tenant; another tenant's session is a 404. */
  @ApiPropertyOptional(OPTIONAL_TENANT)
  @IsOptional()
  @IsTenantId()
  tenant_id?: string;
}

export class SessionRefDto extends SessionRef {}

export class SessionExecuteDto extends CodeRunDto {
  @ApiProperty(SESSION_ID)
  @IsUUID('4', { message: 'session_id must be a session id (UUID)' })
  session_id: string;

  /** The context to run in; without one, the session's default context of the language. */
  @ApiPropertyOptional({
    format: 'uuid',
    description: "Without one, the session's default context of the language",
  })
  @IsOptional()
  @IsUUID('4', { message: 'context_id must be a context id (UUID)' })
  context_id?: string;

  @ApiPropertyOptional(OPTIONAL_TENANT)
  @IsOptional()
  @IsTenantId()
  tenant_id?: string;
}

/** A folder for a context: absolute under /workspace, or relative to it. */
function IsContextDir(): PropertyDecorator {
  const problem = (value: unknown): string | null => {
    if (typeof value !== 'string') return 'must be a string';
    const rel = value.replace(/^\/workspace\/?/, '');
    if (rel === '' || rel === '.') return null;
    if (value.startsWith('/') && !value.startsWith('/workspace/')) return 'must be inside /workspace';
    return workspacePathError(rel);
  };
  return ValidateBy({
    name: 'isContextDir',
    validator: {
      validate: (value) => problem(value) === null,
      defaultMessage: (args) => `${args?.property}: ${problem(args?.value)}`,
    },
  });
}

/** `POST /session/contexts`: another kernel in the session's sandbox. */
export class ContextCreateDto extends SessionRef {
  @ApiPropertyOptional({ pattern: LANGUAGE_PATTERN.source, example: 'javascript' })
  @IsOptional()
  @IsString()
  @Matches(LANGUAGE_PATTERN, { message: 'language must be a language name such as python' })
  language?: string;

  @ApiPropertyOptional({
    description: 'A folder: absolute under /workspace, or relative to it',
    example: '/workspace',
  })
  @IsOptional()
  @IsString()
  @IsContextDir()
  cwd?: string;
}

export class ContextRefDto extends SessionRef {
  @ApiProperty({ format: 'uuid' })
  @IsUUID('4', { message: 'context_id must be a context id (UUID)' })
  context_id: string;
}

/** A file to write into the session's workspace: the session, and the file as a run's files take it. */
export class SessionFileUploadDto extends IntersectionType(SessionRef, FileInputDto) {}

export class SessionFilePathDto extends SessionRef {
  @ApiProperty(WORKSPACE_PATH)
  @IsString()
  @IsWorkspacePath()
  path: string;
}

export class SessionDirDto extends SessionRef {
  @ApiPropertyOptional({ description: 'A folder in /workspace; "" or . is /workspace itself', default: '' })
  @IsOptional()
  @IsString()
  @IsDirPath()
  path?: string;
}

export class OptionalTenantQueryDto {
  @ApiPropertyOptional(OPTIONAL_TENANT)
  @IsOptional()
  @IsTenantId()
  tenant_id?: string;
}

export class SessionDownloadQueryDto extends SessionRef {
  @ApiProperty(WORKSPACE_PATH)
  @IsString()
  @IsWorkspacePath()
  path: string;

  /** `raw` (default): the bytes with their content type; `json`: base64 in a JSON body. */
  @ApiPropertyOptional({
    enum: ['raw', 'json'],
    default: 'raw',
    description: 'raw: the bytes with their content type; json: base64 in a JSON body',
  })
  @IsOptional()
  @IsIn(['raw', 'json'])
  format?: 'raw' | 'json';
}

/** `tenant_id` is required without API keys; a tenant key's own tenant is used when it is left out. */
export class SessionListQueryDto {
  @IsOptional()
  @ApiPropertyOptional(OPTIONAL_TENANT)
  @IsTenantId()
  tenant_id?: string;
}

export type SessionStatus = 'active' | 'expired' | 'destroyed' | 'lost';

/** What `GET /session/{id}` shows. */
export interface SessionView {
  session_id: string;
  tenant_id: string;
  scope: string;
  template: string;
  state: SessionStatus;
  ttl: number;
  metadata: Record<string, string>;
  created_at: string;
  last_used_at: string;
  expires_at: string;
  /** The absolute end of its life, if it was given one. */
  deadline_at?: string;
  executions: number;
}

// ---- api -> session-service

export interface SessionCreateCommand {
  tenant_id: string;
  scope: string;
  template?: string;
  ttl?: number;
  lifetime?: number;
  metadata: Record<string, string>;
  reuse: boolean;
  env: Record<string, string>;
  correlation_id: string;
}

export interface SessionCreateReply {
  status: 'success';
  session_id: string;
  template: string;
  ttl: number;
  reused: boolean;
  /** When it ends if nothing more happens: idle expiry or the deadline, whichever is first. */
  expires_at: string;
  deadline_at?: string;
}

export interface SessionRefCommand {
  session_id: string;
  tenant_id?: string;
  correlation_id: string;
}

/** The session ends `lifetime` seconds from now (busy or not); its idle ttl is at least as long. */
export interface SessionLifetimeCommand extends SessionRefCommand {
  lifetime: number;
}

export interface SessionExecuteCommand extends SessionRefCommand {
  context_id?: string;
  code: string;
  language?: string;
  files: FilePayload[];
  timeout?: number;
  /** The tenant's longest timeout: a template default over it is held to it. */
  max_timeout?: number;
  env: Record<string, string>;
  stdin?: string;
  stream_id?: string;
}

export interface SessionExecuteReply extends ExecutionResult {
  session_id: string;
  /**
   * The session's state from before is gone: its sandbox had to be replaced (a timeout that
   * could not be interrupted, an OOM kill, a dead kernel), in this run or an earlier one.
   */
  state_lost: boolean;
  /** This run's number in the session, from 1 (Jupyter's execution count). */
  execution_count: number;
}

export type FileOp = 'write' | 'read' | 'list' | 'delete' | 'mkdir';

/** A kernel of a session (E2B's context): its own variables, the session's /workspace. */
export interface ContextInfo {
  id: string;
  language: string;
  cwd: string;
  /** The session's default context of its language (the sandbox's first kernel is one). */
  default: boolean;
}

export type ContextAction = 'create' | 'list' | 'restart' | 'remove';

export interface SessionContextsCommand extends SessionRefCommand {
  action: ContextAction;
  language?: string;
  cwd?: string;
  context_id?: string;
}

export interface RunnerSessionContexts {
  session_id: string;
  action: ContextAction;
  language?: string;
  cwd?: string;
  context_id?: string;
}

export interface ContextsReply {
  /** The context created, restarted or removed. */
  context?: ContextInfo;
  contexts: ContextInfo[];
}

export interface SessionFilesCommand extends SessionRefCommand {
  op: FileOp;
  path: string;
  content_b64?: string;
}

export interface FileEntry {
  name: string;
  path: string;
  type: 'file' | 'dir' | 'link' | 'other';
  size: number;
  modified: string;
}

export interface FileOpReply {
  path: string;
  entries?: FileEntry[];
  content_b64?: string;
  mime?: string;
  size?: number;
}

// ---- session-service -> runner

export interface RunnerSessionOpen {
  session_id: string;
  template: TemplateSpec;
  /** The session's environment variables, held with its sandbox. */
  env?: Record<string, string>;
}

export interface RunnerSessionExecute {
  session_id: string;
  /** Without one, the default context of `language`; `language` empty means the context's own. */
  context_id?: string;
  execution_id: string;
  code: string;
  language: string;
  files: FilePayload[];
  env: Record<string, string>;
  stdin?: string;
  timeout: number;
  stream_id?: string;
}

export interface RunnerSessionFiles {
  session_id: string;
  op: FileOp;
  path: string;
  content_b64?: string;
}
