import { z } from 'zod';
import { Bytes } from './bytes.ts';
import { Provenance } from './job-records.ts';

/** One result layer on the canvas, as the panel's history shows it. */
export const HistoryEntry = z.object({
  nodeId: z.string(),
  name: z.string(),
  provenance: Provenance,
  /** The page the layer is on: the history covers the whole file. */
  page: z.object({ id: z.string(), name: z.string() }),
  /** A small PNG of the layer (long side at most HISTORY_THUMBNAIL_SIDE px); absent if its export failed. */
  thumbnail: Bytes.optional(),
});
export type HistoryEntry = z.infer<typeof HistoryEntry>;

export const HISTORY_THUMBNAIL_SIDE = 144;
