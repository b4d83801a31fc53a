import { ApiProperty } from '@nestjs/swagger';

/** What every successful reply starts with; a reply DTO extends it with what its route answers. */
export class SuccessDto {
  @ApiProperty({ enum: ['success'] })
  status: 'success';
}
