import type { ExecuteCommand, ExecutionResult, RunnerExecuteCommand } from './execution';
import type { ServiceHealthReply } from './health';
import type {
  ImageStatusReply,
  ImageStatusRequest,
  TemplateGetRequest,
  TemplateSpec,
  TemplateSummary,
} from './templates';
import { Subjects } from './subjects';

type Empty = Record<string, never>;

/** Subject -> request/reply types: every send and handler is type-checked against it. */
export interface RpcMap {
  [Subjects.ExecutionRun]: { request: ExecuteCommand; reply: ExecutionResult };
  [Subjects.RunnerExecute]: { request: RunnerExecuteCommand; reply: ExecutionResult };
  [Subjects.RunnerImageStatus]: { request: ImageStatusRequest; reply: ImageStatusReply };
  [Subjects.TemplatesList]: { request: Empty; reply: TemplateSummary[] };
  [Subjects.TemplatesGet]: { request: TemplateGetRequest; reply: TemplateSpec };
  [Subjects.RunnerHealth]: { request: Empty; reply: ServiceHealthReply };
  [Subjects.SessionHealth]: { request: Empty; reply: ServiceHealthReply };
  [Subjects.TemplateHealth]: { request: Empty; reply: ServiceHealthReply };
  [Subjects.MetricsHealth]: { request: Empty; reply: ServiceHealthReply };
}

export type RpcSubject = keyof RpcMap;
export type RpcRequest<S extends RpcSubject> = RpcMap[S]['request'];
export type RpcReply<S extends RpcSubject> = RpcMap[S]['reply'];
