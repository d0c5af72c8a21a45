import { z } from 'zod';

/** What `GET /healthz` (the process is alive) and `GET /readyz` (it can take jobs) answer. */
export const ServerStatus = z.object({
  status: z.enum(['ok', 'ready', 'starting', 'draining']),
  /** Workers, one per configured device. */
  workers: z.number().int().nonnegative(),
  queued: z.number().int().nonnegative(),
  running: z.number().int().nonnegative(),
  uptimeSeconds: z.number().nonnegative(),
});
export type ServerStatus = z.infer<typeof ServerStatus>;
