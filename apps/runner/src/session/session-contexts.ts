import { randomUUID } from 'node:crypto';
import {
  ErrorCodes,
  KERNEL_LANGUAGES,
  kernelFor,
  type ContextInfo,
  type KernelKind,
  type TemplateSpec,
} from '@executor/contracts';
import { domainError } from '@executor/common';
import { ContextKernel } from '../sandbox/context-kernel';
import type { KernelLink, Sandbox } from '../sandbox/sandbox';

const WORKSPACE = '/workspace';
/** Contexts of one session at most: each is a process with its own memory in the sandbox. */
export const MAX_CONTEXTS = 8;

interface SessionContext extends ContextInfo {
  kind: KernelKind;
  kernel: KernelLink;
  /** The sandbox's first kernel: it lives as long as the sandbox. */
  main: boolean;
}

/** The folder a context works in, as an absolute path under /workspace. */
function contextDir(cwd: string | undefined): string {
  const rel = (cwd ?? '').replace(/^\/workspace\/?/, '');
  return rel === '' || rel === '.' ? WORKSPACE : `${WORKSPACE}/${rel}`;
}

/**
 * The kernels (E2B's contexts) of one session's sandbox: the sandbox's own kernel, and kernels
 * started beside it with exec, each with its own variables and all sharing /workspace. A run
 * without a context goes to the default context of its language, started when first needed.
 */
export class SessionContexts {
  private readonly byId = new Map<string, SessionContext>();
  private readonly mainId = randomUUID();

  constructor(
    private sandbox: Sandbox,
    private readonly template: TemplateSpec,
    private readonly readyTimeoutMs: number,
  ) {
    this.addMain();
  }

  private addMain(): void {
    const kind = this.template.kernel;
    this.byId.set(this.mainId, {
      id: this.mainId,
      language: KERNEL_LANGUAGES[kind][0],
      cwd: WORKSPACE,
      default: true,
      kind,
      kernel: this.sandbox,
      main: true,
    });
  }

  /** The sandbox was replaced: every context of the old one is gone; the first comes back empty. */
  replaced(sandbox: Sandbox): void {
    this.closeAll();
    this.byId.clear();
    this.sandbox = sandbox;
    this.addMain();
  }

  list(): ContextInfo[] {
    return [...this.byId.values()].map(info);
  }

  /** Where a run goes, and the language it runs in there (`''` asks for the context's own). */
  async forRun(
    contextId: string | undefined,
    language: string,
  ): Promise<{ kernel: KernelLink; language: string }> {
    if (contextId) {
      const ctx = this.get(contextId);
      const lang = language || ctx.language;
      if (!KERNEL_LANGUAGES[ctx.kind].includes(lang)) {
        throw domainError(
          ErrorCodes.UnsupportedLanguage,
          `context ${contextId} runs ${KERNEL_LANGUAGES[ctx.kind].join(', ')}`,
        );
      }
      return { kernel: ctx.kernel, language: lang };
    }
    const main = this.byId.get(this.mainId)!;
    if (KERNEL_LANGUAGES[main.kind].includes(language)) return { kernel: main.kernel, language };
    const existing = [...this.byId.values()].find((c) => c.default && c.language === language);
    if (existing) return { kernel: existing.kernel, language };
    const created = await this.create(language, undefined, true);
    return { kernel: created.kernel, language };
  }

  async create(
    language: string | undefined,
    cwd: string | undefined,
    isDefault = false,
  ): Promise<SessionContext> {
    const lang = language ?? KERNEL_LANGUAGES[this.template.kernel][0];
    const kind = kernelFor(this.template, lang);
    if (!kind) {
      throw domainError(
        ErrorCodes.UnsupportedLanguage,
        `template ${this.template.name} has no context for ${lang}; it runs: ${this.template.languages.join(', ')}`,
      );
    }
    if (this.byId.size >= MAX_CONTEXTS) {
      throw domainError(
        ErrorCodes.QuotaExceeded,
        `a session has at most ${MAX_CONTEXTS} contexts; remove one first`,
      );
    }
    const dir = contextDir(cwd);
    const kernel = await this.start(kind, dir);
    const ctx: SessionContext = {
      id: randomUUID(),
      language: lang,
      cwd: dir,
      default: isDefault,
      kind,
      kernel,
      main: false,
    };
    this.byId.set(ctx.id, ctx);
    return ctx;
  }

  /** A new kernel for the context, same id: its variables are gone. */
  async restart(contextId: string): Promise<ContextInfo> {
    const ctx = this.get(contextId);
    if (ctx.main) {
      // The sandbox's own kernel cannot be replaced alone: it is emptied. Nothing runs in it now
      // (a restart waits for the session's turn), so there is nothing to interrupt: an interrupt
      // arriving while it empties itself would end it.
      await ctx.kernel.execute({ op: 'reset' }, 10000, 'interrupt');
      return info(ctx);
    }
    (ctx.kernel as ContextKernel).close();
    ctx.kernel = await this.start(ctx.kind, ctx.cwd);
    return info(ctx);
  }

  /** A context died during a run: it comes back empty (the first kernel's death replaces the sandbox). */
  async revive(kernel: KernelLink): Promise<void> {
    const ctx = [...this.byId.values()].find((c) => c.kernel === kernel && !c.main);
    if (ctx) ctx.kernel = await this.start(ctx.kind, ctx.cwd);
  }

  remove(contextId: string): ContextInfo {
    const ctx = this.get(contextId);
    if (ctx.main) {
      throw domainError(
        ErrorCodes.ValidationError,
        "the session's first context lives as long as the session",
      );
    }
    (ctx.kernel as ContextKernel).close();
    this.byId.delete(contextId);
    return info(ctx);
  }

  closeAll(): void {
    for (const ctx of this.byId.values()) if (!ctx.main) (ctx.kernel as ContextKernel).close();
  }

  private get(contextId: string): SessionContext {
    const ctx = this.byId.get(contextId);
    if (!ctx) throw domainError(ErrorCodes.NotFound, `no context ${contextId} in this session`);
    return ctx;
  }

  private async start(kind: KernelKind, cwd: string): Promise<ContextKernel> {
    try {
      return await ContextKernel.start(this.sandbox, kind, cwd, this.readyTimeoutMs);
    } catch {
      throw domainError(
        ErrorCodes.SandboxError,
        `could not start a ${kind} context in the session's sandbox`,
      );
    }
  }
}

function info(c: SessionContext): ContextInfo {
  return { id: c.id, language: c.language, cwd: c.cwd, default: c.default };
}
