import {
  Body,
  Controller,
  Get,
  HttpCode,
  Inject,
  Post,
  Query,
  Req,
  Res,
  UploadedFile,
  UseInterceptors,
} from '@nestjs/common';
import { FileInterceptor } from '@nestjs/platform-express';
import {
  ApiBody,
  ApiConsumes,
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import {
  ErrorCodes,
  FileContentDto,
  FileListDto,
  FilePathDto,
  FileWrittenDto,
  MAX_FILE_BYTES,
  SessionDirDto,
  SessionDownloadQueryDto,
  SessionFilePathDto,
  SessionFileUploadDto,
  Subjects,
  workspacePathError,
  type FileOp,
  type SessionFilesCommand,
} from '@executor/contracts';
import { NatsRpc } from '@executor/common';
import { ApiConfig } from '../api.config';
import { toFilePayloads } from '../execute/execute.controller';
import { correlationId } from '../http/body';
import { ApiErrors, BODY_ERRORS, PostRoute, SESSION_ERRORS } from '../openapi/api-responses';
import { UploadDto } from './upload-dto';
import { tenantOf, type AuthedRequest } from '../auth/auth.guard';
import { apiError } from '../http/api-error';

interface UploadedPart {
  originalname: string;
  buffer: Buffer;
  size: number;
}

/** Files inside a session's /workspace: upload, download, list, delete, make directory. */
@ApiTags('session files')
@Controller('session/files')
export class SessionFilesController {
  constructor(
    private readonly rpc: NatsRpc,
    @Inject(ApiConfig) private readonly config: ApiConfig,
  ) {}

  /** JSON `{session_id, path, content, encoding?}`, or multipart with a `file` part (and `path`). */
  @Post('upload')
  @HttpCode(200)
  @UseInterceptors(FileInterceptor('file', { limits: { fileSize: MAX_FILE_BYTES, files: 1, fields: 10 } }))
  @ApiOperation({ summary: "Write a file into a session's /workspace (JSON, or multipart with a file part)" })
  @ApiConsumes('application/json', 'multipart/form-data')
  @ApiExtraModels(SessionFileUploadDto)
  @ApiBody({
    schema: {
      oneOf: [
        { $ref: getSchemaPath(SessionFileUploadDto) },
        {
          type: 'object',
          description: 'multipart/form-data: the file part, and path (the file name when omitted)',
          required: ['session_id', 'file'],
          properties: {
            session_id: { type: 'string', format: 'uuid' },
            tenant_id: { type: 'string' },
            path: { type: 'string' },
            file: { type: 'string', format: 'binary' },
          },
        },
      ],
    },
  })
  @ApiOkResponse({ type: FileWrittenDto })
  @ApiErrors(...BODY_ERRORS, ...SESSION_ERRORS, ErrorCodes.FileRefused)
  async upload(@Req() req: Request, @UploadedFile() part?: UploadedPart) {
    const body = req.body as Record<string, unknown>;
    let command: SessionFilesCommand;
    if (part) {
      const path = typeof body.path === 'string' && body.path !== '' ? body.path : part.originalname;
      const ref = await validateRef({ ...body, path });
      // Multipart fields are read after the auth guard: bind the key's tenant here.
      ref.tenant_id = tenantOf(req as AuthedRequest, ref.tenant_id);
      command = {
        ...ref,
        op: 'write',
        path,
        content_b64: part.buffer.toString('base64'),
        correlation_id: correlationId(req),
      };
    } else {
      const dto = await UploadDto.parse(body);
      const [file] = toFilePayloads([{ path: dto.path, content: dto.content, encoding: dto.encoding }]);
      command = { ...dto, op: 'write', content_b64: file.content_b64, correlation_id: correlationId(req) };
    }
    const reply = await this.send(command);
    return { status: 'success', path: reply.path, size: reply.size };
  }

  @Get('download')
  @ApiOperation({
    summary: 'Read a file: its bytes with their content type, or base64 in JSON (format=json)',
  })
  @ApiExtraModels(FileContentDto)
  @ApiOkResponse({
    description: 'The file',
    content: {
      'application/octet-stream': { schema: { type: 'string', format: 'binary' } },
      'application/json': { schema: { $ref: getSchemaPath(FileContentDto) } },
    },
  })
  @ApiErrors(ErrorCodes.FileNotFound, ...SESSION_ERRORS, ErrorCodes.FileRefused)
  async download(
    @Query() q: SessionDownloadQueryDto,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ) {
    const reply = await this.op('read', q, req);
    const bytes = Buffer.from(reply.content_b64 ?? '', 'base64');
    if (q.format === 'json') {
      return {
        status: 'success',
        path: reply.path,
        size: bytes.length,
        mime: reply.mime,
        encoding: 'base64',
        content: reply.content_b64,
      };
    }
    const name = reply.path.split('/').pop() ?? 'file';
    res.setHeader('Content-Type', reply.mime ?? 'application/octet-stream');
    res.setHeader('Content-Disposition', `attachment; filename="${name.replace(/"/g, '')}"`);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.send(bytes);
    return undefined;
  }

  @Get('list')
  @ApiOperation({ summary: 'List a folder' })
  @ApiOkResponse({ type: FileListDto })
  @ApiErrors(ErrorCodes.FileNotFound, ...SESSION_ERRORS, ErrorCodes.FileRefused)
  async list(@Query() q: SessionDirDto, @Req() req: Request) {
    const reply = await this.op('list', { ...q, path: q.path ?? '' }, req);
    return { status: 'success', path: reply.path, entries: reply.entries ?? [] };
  }

  @PostRoute(
    'delete',
    'Delete a file or folder',
    FilePathDto,
    ErrorCodes.FileNotFound,
    ...SESSION_ERRORS,
    ErrorCodes.FileRefused,
  )
  async remove(@Body() body: SessionFilePathDto, @Req() req: Request) {
    const reply = await this.op('delete', body, req);
    return { status: 'success', path: reply.path };
  }

  @PostRoute('mkdir', 'Make a folder', FilePathDto, ...SESSION_ERRORS, ErrorCodes.FileRefused)
  async mkdir(@Body() body: SessionFilePathDto, @Req() req: Request) {
    const reply = await this.op('mkdir', body, req);
    return { status: 'success', path: reply.path };
  }

  private op(op: FileOp, q: { session_id: string; tenant_id?: string; path: string }, req: Request) {
    return this.send({
      session_id: q.session_id,
      tenant_id: tenantOf(req as AuthedRequest, q.tenant_id),
      op,
      path: q.path,
      correlation_id: correlationId(req),
    });
  }

  private send(command: SessionFilesCommand) {
    return this.rpc.send(Subjects.SessionFiles, command, this.config.rpcTimeouts.fileOpForwarded);
  }
}

/** The session reference and path of a multipart upload, checked like a JSON body. */
async function validateRef(
  fields: Record<string, unknown>,
): Promise<{ session_id: string; tenant_id?: string; path: string }> {
  const dto = await UploadDto.parse({ ...fields, content: '' });
  const problem = workspacePathError(dto.path);
  if (problem) throw apiError(ErrorCodes.ValidationError, `path: ${problem}`);
  return { session_id: dto.session_id, tenant_id: dto.tenant_id, path: dto.path };
}
