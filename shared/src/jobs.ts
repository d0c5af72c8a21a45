import { z } from 'zod';
import { ErrorBody } from './errors.ts';
import { EditSettings } from './settings.ts';

export const JOB_STATES = ['queued', 'running', 'done', 'failed', 'canceled'] as const;
export type JobState = (typeof JOB_STATES)[number];

/**
 * Why a job ended without a result, on every `failed` and `canceled` event: `owner` or `admin`
 * canceled it; `shutdown` (the server stopped); `worker_lost` (its worker thread died twice, or a
 * device fault); `out_of_memory` (its worker ran out of memory on it); `bad_input` (the request
 * could not be served: fix it and resend); `server_fault` (a bug or a broken model: tell the admin).
 */
export const END_REASONS = [
  'owner',
  'admin',
  'shutdown',
  'worker_lost',
  'out_of_memory',
  'bad_input',
  'server_fault',
] as const;
export type EndReason = (typeof END_REASONS)[number];

/** Progress of a running edit: step `step` of `totalSteps` (1-based, counted over all passes). */
export const Progress = z.object({
  step: z.number().int().nonnegative(),
  totalSteps: z.number().int().nonnegative(),
  /** Whole milliseconds since the edit started. */
  elapsedMs: z.number().int().nonnegative(),
});
export type Progress = z.infer<typeof Progress>;

export const Job = z.object({
  id: z.string(),
  state: z.enum(JOB_STATES),
  /** 1-based place in the queue while queued. */
  position: z.number().int().positive().optional(),
  progress: Progress.optional(),
  settings: EditSettings,
  /** The seed actually used, known once the job started. */
  seed: z.number().int().optional(),
  createdAt: z.string(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  /** Where the finished PNG can be fetched. */
  resultUrl: z.string().optional(),
  error: ErrorBody.shape.error.optional(),
  /** Why a failed or canceled job ended. */
  reason: z.enum(END_REASONS).optional(),
});
export type Job = z.infer<typeof Job>;

export const SubmitResponse = z.object({
  id: z.string(),
  state: z.enum(JOB_STATES),
  position: z.number().int().positive(),
  eventsUrl: z.string(),
  jobUrl: z.string(),
});
export type SubmitResponse = z.infer<typeof SubmitResponse>;

/** One server-sent event of `GET /v1/jobs/:id/events`; the SSE `event:` field is `type`. */
export const JobEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('queued'), position: z.number().int().positive() }),
  z.object({
    type: z.literal('started'),
    seed: z.number().int(),
    totalSteps: z.number().int(),
    /** Things the user should know about this run (for example a map quantised by few steps). */
    warnings: z.array(z.string()).optional(),
    /** Which run of the job this is, from the second on (after a `requeued`); absent on the first. */
    attempt: z.number().int().min(2).optional(),
  }),
  /**
   * The job went back to the queue after it had started: its worker was lost (`worker_lost`) or is
   * stopping and handed it on (`shutdown`). It runs again from the start as run `attempt`; a
   * `queued` event with its place follows.
   */
  z.object({ type: z.literal('requeued'), reason: z.enum(END_REASONS), attempt: z.number().int().min(2) }),
  Progress.extend({
    type: z.literal('step'),
    /** Base64 JPEG of the current estimate, when previews were asked for. */
    preview: z.string().optional(),
  }),
  z.object({ type: z.literal('done'), resultUrl: z.string(), width: z.number().int(), height: z.number().int() }),
  z.object({ type: z.literal('failed'), error: ErrorBody.shape.error, reason: z.enum(END_REASONS) }),
  z.object({ type: z.literal('canceled'), reason: z.enum(END_REASONS) }),
]);
export type JobEvent = z.infer<typeof JobEvent>;
