import { z } from 'zod';

/**
 * The frames an in-sandbox kernel sends (apps/runner/README.md, "Kernel protocol"). Everything
 * here is written by code we do not trust: a frame is used only after it passed its schema,
 * and every frame of a run carries the run's id (`r`), so a frame of another run (a forged
 * one, or one from a run that already ended) is dropped.
 */
const runId = z.string().regex(/^[0-9a-f]{8,64}$/);
const streamName = z.enum(['stdout', 'stderr']);
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
/** Base64 as the kernels write it (standard alphabet, padded). */
const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/);

export const KernelFrameSchema = z.discriminatedUnion('t', [
  /** `pid`: the kernel's process id in the sandbox, so a context can be interrupted. */
  z.object({ t: z.literal('ready'), pid: z.number().int().min(1).max(4194304).optional() }),
  z.object({ t: z.literal('out'), r: runId, n: streamName, b: base64 }),
  z.object({ t: z.literal('trunc'), r: runId, n: streamName }),
  z.object({
    t: z.literal('result'),
    r: runId,
    data: z.record(z.string(), z.unknown()),
    main: z.boolean().optional(),
  }),
  z.object({
    t: z.literal('error'),
    r: runId,
    name: z.string(),
    value: z.string(),
    traceback: z.string().optional(),
  }),
  z.object({
    t: z.literal('file'),
    r: runId,
    name: z.string(),
    mime: z.string(),
    size: count,
    b: base64,
  }),
  z.object({
    t: z.literal('files'),
    r: runId,
    path: z.string().max(4096),
    entries: z
      .array(
        z.object({
          name: z.string().max(4096),
          path: z.string().max(4096),
          type: z.enum(['file', 'dir', 'link', 'other']),
          size: count,
          modified: z.string().max(64),
        }),
      )
      .max(100_000)
      .optional(),
    content_b64: base64.optional(),
    mime: z.string().max(255).optional(),
    size: count.optional(),
  }),
  z.object({
    t: z.literal('done'),
    r: runId,
    exit_code: z.number().int().min(-2147483648).max(2147483647),
    stdout_bytes: count,
    stderr_bytes: count,
    stdout_truncated: z.boolean().optional(),
    stderr_truncated: z.boolean().optional(),
  }),
]);

export type KernelFrame = z.infer<typeof KernelFrameSchema>;

export type ParsedFrame =
  | { ok: true; frame: KernelFrame }
  /** Not JSON, or JSON that is not a frame; its `t` and `r` when they were strings. */
  | { ok: false; type?: string; run?: string };

/** Parses and validates one frame's JSON text; never throws. */
export function parseFrame(json: string): ParsedFrame {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return { ok: false };
  }
  const parsed = KernelFrameSchema.safeParse(value);
  if (parsed.success) return { ok: true, frame: parsed.data };
  const { t, r } = (typeof value === 'object' && value !== null ? value : {}) as { t?: unknown; r?: unknown };
  return {
    ok: false,
    ...(typeof t === 'string' ? { type: t.slice(0, 16) } : {}),
    ...(typeof r === 'string' ? { run: r.slice(0, 64) } : {}),
  };
}
