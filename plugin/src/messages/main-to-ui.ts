import { EditSettings } from '@pixels/shared';
import { z } from 'zod';
import { ExportedLayers } from './exported-layers.ts';
import { HistoryEntry } from './history-entry.ts';
import { PendingJob } from './job-records.ts';
import { Connection, PanelSettings } from './panel-settings.ts';
import { SelectionSummary } from './selection-summary.ts';

/** Every message the main thread sends to the panel; parsed on arrival in the UI. */
export const MainToUi = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('init'),
    connection: Connection,
    settings: PanelSettings,
    selection: SelectionSummary,
    /** Jobs submitted before the plugin was last closed, to follow and place. */
    pendingJobs: z.array(PendingJob),
    /** Started from a result's relaunch button: blend its layers again with these settings. */
    relaunch: z.object({ mode: z.enum(['again', 'variation']), settings: EditSettings }).optional(),
  }),
  z.object({ type: z.literal('selection'), selection: SelectionSummary }),
  z.object({ type: z.literal('layers-exported'), requestId: z.string(), layers: ExportedLayers }),
  z.object({ type: z.literal('export-failed'), requestId: z.string(), message: z.string() }),
  z.object({
    type: z.literal('placed'),
    jobId: z.string(),
    nodeId: z.string(),
    name: z.string(),
    notes: z.array(z.string()),
  }),
  z.object({ type: z.literal('place-failed'), jobId: z.string(), message: z.string() }),
  /** The results on the current page, newest first, rebuilt from their plugin data. */
  z.object({ type: z.literal('history'), entries: z.array(HistoryEntry) }),
  /** The layers of a result are selected again: blend them with its settings and seed. */
  z.object({
    type: z.literal('rerun'),
    nodeId: z.string(),
    settings: EditSettings,
    seed: z.number().int(),
    /** The reselected layers (Figma's selectionchange event may arrive after this message). */
    selection: SelectionSummary,
  }),
  z.object({ type: z.literal('rerun-failed'), nodeId: z.string(), message: z.string() }),
]);
export type MainToUi = z.infer<typeof MainToUi>;
