import { IsIn, IsOptional, IsString, IsUUID, Matches, MaxLength } from 'class-validator';
import { targetConstructorToSchema } from 'class-validator-jsonschema';
import {
  CodeRunDto,
  FileInputDto,
  NAME_PATTERN,
  SessionCreateDto,
  IsWorkspacePath,
} from '@executor/contracts';

/**
 * The MCP tools' arguments: the API's own DTOs (libs/contracts) with the fields an MCP caller
 * does not set (tenant, scope, streaming) left out, so one set of rules serves HTTP and MCP.
 */
const SESSION_ID_MESSAGE = 'sandbox_id must be the id create_sandbox returned';

export class RunCodeArgs extends CodeRunDto {
  @IsOptional()
  @IsString()
  @Matches(NAME_PATTERN, { message: 'template must be a template name (lowercase letters, digits, -)' })
  template?: string;
}

export class CreateSandboxArgs extends SessionCreateDto {}

export class SandboxRefArgs {
  @IsUUID(undefined, { message: SESSION_ID_MESSAGE })
  sandbox_id: string;
}

export class RunInSandboxArgs extends CodeRunDto {
  @IsUUID(undefined, { message: SESSION_ID_MESSAGE })
  sandbox_id: string;
}

export class SandboxPathArgs extends SandboxRefArgs {
  @IsString()
  @IsWorkspacePath()
  path: string;
}

export class ListFilesArgs extends SandboxRefArgs {
  @IsOptional()
  @IsString()
  @MaxLength(4096)
  path?: string;
}

export class UploadFileArgs extends SandboxPathArgs {
  @IsString()
  content: string;

  @IsOptional()
  @IsIn(['utf8', 'base64'])
  encoding?: 'utf8' | 'base64';
}

export class NoArgs {}

type Json = Record<string, unknown>;
const STRING_MAP: Json = { type: 'object', additionalProperties: { type: 'string' } };

/** Arrays of DTOs, by property name: class-validator's metadata knows them only as arrays. */
const NESTED: Record<string, new () => object> = { files: FileInputDto };

/** A self-contained JSON Schema of a DTO: nested DTOs inlined, string maps spelled out. */
export function argsSchema(dto: new () => object, omit: string[] = []): Json {
  const inline = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(inline);
    if (!node || typeof node !== 'object') return node;
    const o = node as Json;
    // What is left is a map validated by a rule of ours (env, metadata): strings by name.
    if (typeof o.$ref === 'string') return { ...STRING_MAP };
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, inline(v)]));
  };
  const schema = targetConstructorToSchema(dto) as Json;
  const properties: Json = {};
  for (const [name, prop] of Object.entries((schema.properties as Json | undefined) ?? {})) {
    if (omit.includes(name)) continue;
    const nested = NESTED[name];
    properties[name] = nested ? { ...(prop as Json), items: argsSchema(nested) } : inline(prop);
  }
  const required = ((schema.required as string[] | undefined) ?? []).filter((k) => !omit.includes(k));
  return {
    type: 'object',
    properties,
    ...(required.length > 0 ? { required } : {}),
    additionalProperties: false,
  };
}
