import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { KERNEL_KINDS, type ImageStatus, type KernelKind, type TemplateSummary } from '../templates';
import { SuccessDto } from './success.dto';

const IMAGE_STATUSES: ImageStatus[] = ['missing', 'building', 'ready', 'failed', 'unknown'];

export class TemplateSummaryDto implements TemplateSummary {
  @ApiProperty({ example: 'python-data' })
  name: string;

  @ApiProperty()
  description: string;

  @ApiProperty({ example: '512m', description: 'Docker memory string' })
  memory_limit: string;

  @ApiProperty({ example: 1, description: 'CPUs' })
  cpu_limit: number;

  @ApiProperty({ type: 'integer', description: 'Default timeout in seconds' })
  timeout: number;

  @ApiProperty()
  network: boolean;

  @ApiProperty({ type: [String], example: ['python', 'bash'] })
  languages: string[];

  @ApiProperty({ type: 'integer' })
  package_count: number;

  @ApiProperty({ enum: IMAGE_STATUSES })
  image_status: ImageStatus;

  @ApiProperty({ example: 'executor/python-data:latest' })
  image: string;

  @ApiPropertyOptional({ type: 'integer', description: 'Bytes' })
  image_size?: number;

  @ApiProperty({ enum: KERNEL_KINDS })
  kernel: KernelKind;

  @ApiProperty({ description: 'From templates/ (true) or registered over the API' })
  builtin: boolean;

  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'array', items: { type: 'string' } },
    description: 'By installer: apt, pip, npm',
    example: { pip: ['numpy', 'pandas'] },
  })
  packages: Record<string, string[]>;

  @ApiProperty({ type: [String], description: 'Packages this installation cannot provide, with the reason' })
  packages_missing: string[];

  @ApiPropertyOptional({ description: 'For a failed build: why' })
  build_error?: string;

  @ApiPropertyOptional({
    type: [String],
    description:
      'The last lines of the build log: of a failed build, of the build in progress, or of the last build that worked',
  })
  build_log?: string[];

  @ApiPropertyOptional({ description: 'The owning tenant of a template registered with a tenant key' })
  tenant_id?: string;

  @ApiProperty({ type: 'integer' })
  pids_limit: number;
}

export class TemplateListDto extends SuccessDto {
  @ApiProperty({ type: () => [TemplateSummaryDto] })
  templates: TemplateSummaryDto[];
}

export class TemplateReplyDto extends SuccessDto {
  @ApiProperty({ type: () => TemplateSummaryDto })
  template: TemplateSummaryDto;
}

export class TemplateDeletedDto extends SuccessDto {
  @ApiProperty()
  name: string;
}
