import { z } from 'zod';

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
});
export type ServerStatus = z.infer<typeof ServerStatus>;
