import type { ExecuteCommand, ExecutionResult, RunnerExecuteCommand } from './execution';
import type { ServiceHealthReply } from './health';
import type {
  ImageBuildRequest,
  ImageStatusInfo,
  RegisterTemplateCommand,
  ImageStatusReply,
  ImageStatusRequest,
  TemplateGetRequest,
  TemplateListRequest,
  DeleteTemplateCommand,
  TemplateSpec,
  TemplateSummary,
} from './templates';
import { Subjects } from './subjects';
import type { ProcessReply, RunnerSessionProcess, SessionProcessCommand } from './processes';
import type { AdminEventsQueryDto, AdminEventsReply } from './admin';
import type {
  ContextsReply,
  RunnerSessionContexts,
  SessionContextsCommand,
  FileOpReply,
  RunnerSessionExecute,
  RunnerSessionFiles,
  RunnerSessionOpen,
  SessionCreateCommand,
  SessionCreateReply,
  SessionExecuteCommand,
  SessionExecuteReply,
  SessionFilesCommand,
  SessionLifetimeCommand,
  SessionRefCommand,
  SessionView,
} from './sessions';

type Empty = Record<string, never>;

/** Subject -> request/reply types: every send and handler is type-checked against it. */
export interface RpcMap {
  [Subjects.ExecutionRun]: { request: ExecuteCommand; reply: ExecutionResult };
  [Subjects.RunnerExecute]: { request: RunnerExecuteCommand; reply: ExecutionResult };
  [Subjects.RunnerImageStatus]: { request: ImageStatusRequest; reply: ImageStatusReply };
  [Subjects.TemplatesList]: { request: TemplateListRequest; reply: TemplateSummary[] };
  [Subjects.TemplatesGet]: { request: TemplateGetRequest; reply: TemplateSpec };
  [Subjects.TemplatesDescribe]: { request: TemplateGetRequest; reply: TemplateSummary };
  [Subjects.TemplatesRegister]: { request: RegisterTemplateCommand; reply: TemplateSummary };
  [Subjects.TemplatesDelete]: { request: DeleteTemplateCommand; reply: { name: string } };
  [Subjects.RunnerImageBuild]: { request: ImageBuildRequest; reply: ImageStatusInfo };
  [Subjects.SessionCreate]: { request: SessionCreateCommand; reply: SessionCreateReply };
  [Subjects.SessionExecute]: { request: SessionExecuteCommand; reply: SessionExecuteReply };
  [Subjects.SessionDestroy]: { request: SessionRefCommand; reply: { status: 'success'; session_id: string } };
  [Subjects.SessionGet]: { request: SessionRefCommand; reply: SessionView };
  [Subjects.SessionSetLifetime]: { request: SessionLifetimeCommand; reply: SessionView };
  [Subjects.SessionList]: { request: { tenant_id: string }; reply: SessionView[] };
  [Subjects.SessionFiles]: { request: SessionFilesCommand; reply: FileOpReply };
  [Subjects.SessionContexts]: { request: SessionContextsCommand; reply: ContextsReply };
  [Subjects.RunnerSessionContexts]: { request: RunnerSessionContexts; reply: ContextsReply };
  [Subjects.RunnerSessionOpen]: { request: RunnerSessionOpen; reply: { runner_id: string } };
  [Subjects.RunnerSessionExecute]: { request: RunnerSessionExecute; reply: SessionExecuteReply };
  [Subjects.RunnerSessionClose]: { request: { session_id: string }; reply: { closed: boolean } };
  [Subjects.RunnerSessionList]: {
    request: Empty;
    /** `held_ms`: how long each sandbox has been held, so a reconcile spares one being created. */
    reply: { runner_id: string; session_ids: string[]; held_ms?: Record<string, number> };
  };
  [Subjects.RunnerSessionFiles]: { request: RunnerSessionFiles; reply: FileOpReply };
  [Subjects.MetricsGet]: { request: Empty; reply: Record<string, unknown> };
  [Subjects.MetricsPrometheus]: { request: Empty; reply: { text: string } };
  [Subjects.MetricsRebuild]: { request: Empty; reply: { position: number } };
  [Subjects.AdminEvents]: { request: AdminEventsQueryDto; reply: AdminEventsReply };
  [Subjects.AdminStream]: { request: { stream_id: string }; reply: AdminEventsReply };
  [Subjects.RunnerHealth]: { request: Empty; reply: ServiceHealthReply };
  [Subjects.SessionHealth]: { request: Empty; reply: ServiceHealthReply };
  [Subjects.TemplateHealth]: { request: Empty; reply: ServiceHealthReply };
  [Subjects.MetricsHealth]: { request: Empty; reply: ServiceHealthReply };
  [Subjects.SessionProcess]: { request: SessionProcessCommand; reply: ProcessReply };
  [Subjects.RunnerSessionProcess]: { request: RunnerSessionProcess; reply: ProcessReply };
}

export type RpcSubject = keyof RpcMap;
export type RpcRequest<S extends RpcSubject> = RpcMap[S]['request'];
export type RpcReply<S extends RpcSubject> = RpcMap[S]['reply'];
