import { z } from 'zod';

/** What this server accepts per edit, so clients can bound their inputs before sending. */
export const ServerRequestLimits = z.object({
  maxSteps: z.number().int().positive(),
  maxExemplars: z.number().int().positive(),
  maxPromptLength: z.number().int().positive(),
  /** Pixels per input image. */
  maxPixels: z.number().int().positive(),
  /** Bytes of one multipart request. */
  maxBodyBytes: z.number().int().positive(),
});
export type ServerRequestLimits = z.infer<typeof ServerRequestLimits>;

/** What `GET /healthz` (the process is alive) and `GET /readyz` (it can take jobs) answer. */
export const ServerStatus = z.object({
  status: z.enum(['ok', 'ready', 'starting', 'draining']),
  /** Workers, one per configured device. */
  workers: z.number().int().nonnegative(),
  /** Workers with a live thread now; a dead one is being replaced, and with none the server is not ready. */
  liveWorkers: z.number().int().nonnegative().optional(),
  queued: z.number().int().nonnegative(),
  running: z.number().int().nonnegative(),
  uptimeSeconds: z.number().nonnegative(),
  /** Absent from servers older than this field. */
  limits: ServerRequestLimits.optional(),
});
export type ServerStatus = z.infer<typeof ServerStatus>;
