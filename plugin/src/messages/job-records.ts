import { EditSettings } from '@pixels/shared';
import { z } from 'zod';

/** The layers a job was made from, by node id. */
export const JobLayers = z.object({
  sourceId: z.string(),
  exemplarIds: z.array(z.string()),
  mapId: z.string().optional(),
});
export type JobLayers = z.infer<typeof JobLayers>;

/** A result's place over its source, in canvas units from the source's top-left corner. */
export const PlacementBox = z.object({
  x: z.number().nonnegative(),
  y: z.number().nonnegative(),
  width: z.number().positive(),
  height: z.number().positive(),
});
export type PlacementBox = z.infer<typeof PlacementBox>;

/**
 * A submitted job the plugin has not placed yet, kept in clientStorage so that a plugin closed
 * mid-job (which kills its requests) picks the job up again when reopened.
 */
export const PendingJob = JobLayers.extend({
  jobId: z.string(),
  serverUrl: z.string(),
  settings: EditSettings,
  /** The working image size the job was sent at. */
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  /** Only a region of the source was sent: where its result goes (absent: over the whole source). */
  box: PlacementBox.optional(),
  submittedAt: z.string(),
  /** Whether the model read the prompt, for the result's name; absent from older records. */
  promptUsed: z.boolean().optional(),
});
export type PendingJob = z.infer<typeof PendingJob>;

/** What a placed result remembers about how it was made (plugin data on the result layer). */
export const Provenance = JobLayers.extend({
  jobId: z.string(),
  serverUrl: z.string(),
  /** The settings the server ran, with the seed it used. */
  settings: EditSettings,
  seed: z.number().int(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  /** Where over the source the result was placed, when it covers only a region of it. */
  box: PlacementBox.optional(),
  placedAt: z.string(),
  plugin: z.literal('pixels'),
  /** Results of one click share a batch (variations), so the history can show them side by side. */
  batchId: z.string().optional(),
  /** 0-based place in its batch: variations are shown in the order they were asked for. */
  variation: z.number().int().nonnegative().optional(),
  /** Server time from the job's start to its end, and the steps it ran: the panel's wait estimates. */
  runMs: z.number().nonnegative().optional(),
  runSteps: z.number().int().nonnegative().optional(),
});
export type Provenance = z.infer<typeof Provenance>;
