import { EditSettings } from '@pixels/shared';
import { z } from 'zod';
import { BlendTimings } from './blend-timings.ts';
import { Bytes } from './bytes.ts';
import { JobLayers, PendingJob, PlacementBox } from './job-records.ts';
import { Connection, PanelSettings } from './panel-settings.ts';
import { LAYER_ROLES } from './selection-summary.ts';

/** Every message the panel sends to the main thread; parsed on arrival in the main thread. */
export const UiToMain = z.discriminatedUnion('type', [
  /** The panel has loaded and listens: the main thread answers with `init`. */
  z.object({ type: z.literal('ready') }),
  z.object({ type: z.literal('set-role'), nodeId: z.string(), role: z.enum([...LAYER_ROLES, 'automatic']) }),
  /** Exemplars bottom first, as the designer ordered them. */
  z.object({ type: z.literal('set-exemplar-order'), nodeIds: z.array(z.string()) }),
  z.object({ type: z.literal('save-settings'), settings: PanelSettings }),
  z.object({ type: z.literal('save-connection'), connection: Connection }),
  /**
   * Rasterize the current selection, sending at most `maxSide` pixels on the long side. With
   * `edit`, only the region around the edit is sent when it is smaller than the frame (the map
   * spreads `spreadPx` working pixels beyond the exemplars); without it, the whole frame (previews).
   */
  z.object({
    type: z.literal('export-layers'),
    requestId: z.string(),
    maxSide: z.number().int().positive(),
    edit: z.object({ spreadPx: z.number().nonnegative(), invertMap: z.boolean() }).optional(),
  }),
  z.object({ type: z.literal('job-submitted'), job: PendingJob }),
  /** The job was placed, failed or was canceled: forget it. */
  z.object({ type: z.literal('job-ended'), jobId: z.string() }),
  JobLayers.extend({
    type: z.literal('place-result'),
    jobId: z.string(),
    serverUrl: z.string(),
    /** PNG at most 4096 px per side (Figma's image limit). */
    png: Bytes,
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    /** Where the result goes over the source (canvas units from its top-left); absent: the whole source. */
    box: PlacementBox.optional(),
    settings: EditSettings,
    seed: z.number().int(),
    notes: z.array(z.string()),
    timings: BlendTimings.optional(),
    batchId: z.string().optional(),
    variation: z.number().int().nonnegative().optional(),
    runMs: z.number().nonnegative().optional(),
    runSteps: z.number().int().nonnegative().optional(),
    /** False when the model ignored the prompt: the layer name then leaves it out. */
    promptUsed: z.boolean().default(true),
  }),
  /** Lists the results on the current page for the history (answered with `history`). */
  z.object({ type: z.literal('list-history') }),
  /** Selects a result layer and zooms to it. */
  z.object({ type: z.literal('select-result'), nodeId: z.string() }),
  /** Deletes a result layer (one undo step brings it back). */
  z.object({ type: z.literal('delete-result'), nodeId: z.string() }),
  /** Reselects the layers a result was made from; answered with `rerun` or `rerun-failed`. */
  z.object({ type: z.literal('rerun-result'), nodeId: z.string() }),
  z.object({ type: z.literal('notify'), message: z.string(), error: z.boolean().default(false) }),
]);
export type UiToMain = z.infer<typeof UiToMain>;
export type PlaceResultMessage = Extract<UiToMain, { type: 'place-result' }>;
