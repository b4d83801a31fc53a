import {
  Controller,
  Get,
  HttpCode,
  Post,
  Query,
  Req,
  Res,
  UploadedFiles,
  UseFilters,
  UseInterceptors,
} from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { FilesInterceptor } from '@nestjs/platform-express';
import type { Request, Response } from 'express';
import { raw } from 'express';
import { ErrorCodes, MAX_FILE_BYTES } from '@executor/contracts';
import { RemoteError } from '@executor/common';
import { sandboxOfRequest } from './e2b-caller';
import { E2bErrorFilter } from './e2b-errors';
import { fromWorkspacePath, toWorkspacePath } from './e2b-paths';
import { E2bFilesQueryDto } from './e2b.dto';
import { SandboxSessions } from './sandbox-sessions';

interface UploadedPart {
  originalname: string;
  buffer: Buffer;
}

/** Files of one upload at most: each is a call to the sandbox. */
const MAX_UPLOAD_FILES = 32;
const readOctets = raw({ type: 'application/octet-stream', limit: MAX_FILE_BYTES });

/** The bytes of an `application/octet-stream` upload, within the file size limit. */
function octetBody(req: Request, res: Response): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    readOctets(req, res, (err?: unknown) => {
      if (err) {
        const tooLarge = (err as { type?: string }).type === 'entity.too.large';
        return reject(
          new RemoteError(
            tooLarge ? ErrorCodes.PayloadTooLarge : ErrorCodes.ValidationError,
            tooLarge ? `a file may be at most ${MAX_FILE_BYTES} bytes` : 'the file body could not be read',
          ),
        );
      }
      resolve(Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0));
    });
  });
}

/**
 * envd's HTTP side (port 49983): its health, and file bytes in and out of the session's
 * workspace (`/home/user/...` is `/workspace/...`).
 */
// E2B's wire format, documented by E2B: not a route of our OpenAPI document.
@ApiExcludeController()
@Controller('e2b')
@UseFilters(E2bErrorFilter)
export class E2bEnvdFilesController {
  constructor(private readonly sessions: SandboxSessions) {}

  /** 204 while the sandbox runs; 502 once it is gone, which E2B's SDK reads as "not running". */
  @Get('health')
  async health(@Req() req: Request, @Res() res: Response): Promise<void> {
    const ref = sandboxOfRequest(req);
    const running = await this.sessions
      .get(ref)
      .then((s) => s.state === 'active' && Date.parse(s.expires_at) > Date.now())
      .catch((err: unknown) => {
        if (err instanceof RemoteError && err.code === ErrorCodes.SessionNotFound) return false;
        throw err;
      });
    res.status(running ? 204 : 502).end();
  }

  @Get('files')
  async read(@Query() q: E2bFilesQueryDto, @Req() req: Request, @Res() res: Response): Promise<void> {
    const reply = await this.sessions.files(sandboxOfRequest(req), 'read', filePath(q.path));
    const bytes = Buffer.from(reply.content_b64 ?? '', 'base64');
    res.setHeader('Content-Type', reply.mime ?? 'application/octet-stream');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Content-Length', String(bytes.length));
    res.status(200).end(bytes);
  }

  /** Multipart parts named `file` (each part's file name is its path), or one octet-stream body. */
  @Post('files')
  @HttpCode(200)
  @UseInterceptors(
    FilesInterceptor('file', MAX_UPLOAD_FILES, {
      // A part's file name is its path in the sandbox: keep its folders (the rules check them).
      preservePath: true,
      limits: { fileSize: MAX_FILE_BYTES, fields: 10 },
    }),
  )
  async write(
    @Query() q: E2bFilesQueryDto,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @UploadedFiles() parts?: UploadedPart[],
  ) {
    const ref = sandboxOfRequest(req);
    const files: Array<{ path: string; bytes: Buffer }> = [];
    if (req.is('application/octet-stream')) {
      files.push({ path: filePath(q.path), bytes: await octetBody(req, res) });
    } else if (parts && parts.length > 0) {
      for (const part of parts) {
        files.push({ path: filePath(q.path ?? part.originalname), bytes: part.buffer });
      }
    } else {
      throw new RemoteError(
        ErrorCodes.ValidationError,
        'send the file as multipart part "file" or as application/octet-stream',
      );
    }
    const written = [];
    for (const f of files) {
      const reply = await this.sessions.files(ref, 'write', f.path, f.bytes.toString('base64'));
      written.push({
        name: reply.path.split('/').pop() ?? reply.path,
        path: fromWorkspacePath(reply.path),
        type: 'file',
      });
    }
    return written;
  }
}

function filePath(path: string | undefined): string {
  const rel = toWorkspacePath(path ?? '');
  if (rel === '') throw new RemoteError(ErrorCodes.ValidationError, `${'/home/user'} is a directory`);
  return rel;
}
