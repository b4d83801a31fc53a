import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { ErrorCodes, SessionFileUploadDto } from '@executor/contracts';
import { depthExceeds, MAX_JSON_DEPTH, stripProtoKeys } from '../http/body';
import { apiError } from '../http/api-error';

/** Validates an upload body by hand: the route takes JSON and multipart, so no pipe can. */
export class UploadDto extends SessionFileUploadDto {
  static async parse(body: unknown): Promise<SessionFileUploadDto> {
    if (depthExceeds(body, MAX_JSON_DEPTH)) {
      throw apiError(ErrorCodes.InvalidJson, `the body is nested deeper than ${MAX_JSON_DEPTH} levels`);
    }
    stripProtoKeys(body);
    const dto = plainToInstance(SessionFileUploadDto, body ?? {});
    const errors = await validate(dto, { whitelist: true, forbidNonWhitelisted: true });
    if (errors.length > 0) {
      const message = errors
        .flatMap((e) =>
          Object.values(e.constraints ?? {}).map((m) =>
            m.startsWith(e.property) ? m : `${e.property}: ${m}`,
          ),
        )
        .join('; ');
      throw apiError(ErrorCodes.ValidationError, message);
    }
    return dto;
  }
}
