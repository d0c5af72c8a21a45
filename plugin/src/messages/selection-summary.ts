import { z } from 'zod';

/** What a selected layer is used for. `ignore` keeps a selected layer out of the blend. */
export const LAYER_ROLES = ['source', 'exemplar', 'map', 'ignore'] as const;
export type LayerRole = (typeof LAYER_ROLES)[number];

export const LayerRow = z.object({
  id: z.string(),
  name: z.string(),
  /** Figma's node type, for the icon. */
  type: z.string(),
  role: z.enum(LAYER_ROLES),
  /** `chosen` when the designer set the role (remembered on the node), `automatic` otherwise. */
  origin: z.enum(['chosen', 'automatic']),
  /** 0-based place among the exemplars, bottom first (the top one is composited last). */
  exemplarIndex: z.number().int().nonnegative().optional(),
});
export type LayerRow = z.infer<typeof LayerRow>;

export const SelectionIssue = z.object({
  /** Errors block the blend; warnings are shown and the blend can go ahead. */
  severity: z.enum(['error', 'warning']),
  /** Stable identifier for tests and styling. */
  code: z.string(),
  message: z.string(),
});
export type SelectionIssue = z.infer<typeof SelectionIssue>;

/** The selection as the panel shows it: layers in role order (source, exemplars, map, ignored). */
export const SelectionSummary = z.object({
  rows: z.array(LayerRow),
  issues: z.array(SelectionIssue),
  source: z.object({ id: z.string(), name: z.string(), width: z.number(), height: z.number() }).optional(),
  exemplarIds: z.array(z.string()),
  mapId: z.string().optional(),
  canBlend: z.boolean(),
});
export type SelectionSummary = z.infer<typeof SelectionSummary>;
