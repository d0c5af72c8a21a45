import { z } from 'zod';

/** `live`: heard from within `lostAfterMs`; `lost`: its heartbeats stopped (killed, or cut off from Redis). */
export const WORKER_STATES = ['live', 'lost'] as const;
export type WorkerState = (typeof WORKER_STATES)[number];

/** One worker as `GET /v1/workers` lists it: a thread of `pixels serve`, or a `pixels worker` process. */
export const WorkerStatus = z.object({
  name: z.string(),
  /** The devices it runs edits on, e.g. `cuda:0`. */
  devices: z.array(z.string()),
  /** The installed models it takes jobs for. */
  models: z.array(z.string()),
  /** The id of the job it runs now. */
  currentJob: z.string().optional(),
  lastHeartbeatAt: z.string(),
  state: z.enum(WORKER_STATES),
  /** Jobs it finished, by how they ended. */
  jobs: z.object({
    done: z.number().int().nonnegative(),
    failed: z.number().int().nonnegative(),
    canceled: z.number().int().nonnegative(),
  }),
  /** Denoising steps it ran, and the seconds they took. */
  steps: z.number().int().nonnegative(),
  stepSeconds: z.number().nonnegative(),
});
export type WorkerStatus = z.infer<typeof WorkerStatus>;

/** What `GET /v1/workers` (admin) answers. */
export const WorkerList = z.object({
  workers: z.array(WorkerStatus),
  /** How often a worker says it is alive, and after how long without a word it is listed as lost. */
  heartbeatMs: z.number().int().positive(),
  lostAfterMs: z.number().int().positive(),
});
export type WorkerList = z.infer<typeof WorkerList>;
