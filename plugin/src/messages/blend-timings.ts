import { z } from 'zod';

/** Where `composeMs` goes: decoding the exports, building the map and region, encoding the files sent. */
export const ComposeParts = z.object({
  decodeMs: z.number().nonnegative(),
  layoutMs: z.number().nonnegative(),
  encodeMs: z.number().nonnegative(),
});
export type ComposeParts = z.infer<typeof ComposeParts>;

/**
 * Milliseconds spent on each part of one blend, measured in the UI. The plugin's own share is
 * everything except `serverMs` (queue plus engine time on the server).
 */
export const BlendTimings = z.object({
  exportMs: z.number().nonnegative(),
  composeMs: z.number().nonnegative(),
  composeParts: ComposeParts.optional(),
  uploadMs: z.number().nonnegative(),
  serverMs: z.number().nonnegative(),
  downloadMs: z.number().nonnegative(),
  decodeMs: z.number().nonnegative(),
  totalMs: z.number().nonnegative(),
});
export type BlendTimings = z.infer<typeof BlendTimings>;
