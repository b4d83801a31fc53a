import { Controller, Get, Param, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { randomBytes } from 'node:crypto';
import { ErrorCodes } from '@executor/contracts';
import { apiError } from '../http/api-error';
import { ConsoleAssets, consoleCsp } from './console-assets';

/** The web console's page and files: static, outside the API's document (not JSON routes). */
@ApiExcludeController()
@Controller('console')
export class ConsoleController {
  constructor(private readonly assets: ConsoleAssets) {}

  @Get()
  page(@Res() res: Response): void {
    const nonce = randomBytes(18).toString('base64');
    const body = this.assets.index(nonce);
    if (!body) throw apiError(ErrorCodes.NotFound, 'the console is not built: run npm run build');
    res.setHeader('Content-Security-Policy', consoleCsp(nonce));
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.type('text/html; charset=utf-8').send(body);
  }

  @Get(':file')
  file(@Param('file') name: string, @Req() req: Request, @Res() res: Response): void {
    const asset = this.assets.get(name);
    if (!asset) throw apiError(ErrorCodes.NotFound, 'no such console file');
    res.setHeader('Content-Security-Policy', consoleCsp(randomBytes(18).toString('base64')));
    res.setHeader('ETag', asset.etag);
    res.setHeader('Cache-Control', asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    if (req.header('if-none-match') === asset.etag) {
      res.status(304).end();
      return;
    }
    res.setHeader('Content-Type', asset.type);
    res.end(asset.body);
  }
}
