import { EditSettings, FALLOFF_CURVES } from '@pixels/shared';
import { z } from 'zod';

export const SEED_MODES = ['random', 'fixed'] as const;
export type SeedMode = (typeof SEED_MODES)[number];

/**
 * The cap on the longest side sent, in pixels: the edit's region or the whole source goes at 1x up
 * to it (Figma images are capped at 4096 px per side), scaled down beyond it.
 */
export const WORKING_SIZE_RANGE = Object.freeze({ min: 256, max: 4096, default: 4096 });
export const MAX_VARIATIONS = 4;

/**
 * The panel's own settings, kept per user in clientStorage. The edit itself is the shared
 * `EditSettings` (its defaults fill in here); the rest is how the plugin prepares and runs it.
 */
export const PanelSettings = z.object({
  edit: EditSettings.default(() => EditSettings.parse({})),
  /** `random` lets the server draw a seed per run; `fixed` sends `edit.seed`. */
  seedMode: z.enum(SEED_MODES).default('random'),
  /** Separate jobs per click, each with its own seed (fixed seeds count up from `edit.seed`). */
  variations: z.number().int().min(1).max(MAX_VARIATIONS).default(1),
  /**
   * The export cap shown as "Working size": the longest side the plugin sends, in pixels
   * (common/export-sizing.ts); not the model's native area, which the server works at.
   */
  workingSize: z
    .number()
    .int()
    .min(WORKING_SIZE_RANGE.min)
    .max(WORKING_SIZE_RANGE.max)
    .default(WORKING_SIZE_RANGE.default),
  /** Shape of the soft edge of a map built from the exemplars (grow and feather live in `edit`). */
  falloff: z.enum(FALLOFF_CURVES).default('smooth'),
  /** The map preview shows the exemplars pasted over the source (under the map's tint). */
  previewExemplar: z.boolean().default(false),
});
export type PanelSettings = z.infer<typeof PanelSettings>;

export const DEFAULT_PANEL_SETTINGS: PanelSettings = PanelSettings.parse({});

/** Where the team's server is and the token it expects, kept per user in clientStorage. */
export const Connection = z.object({
  serverUrl: z.string().default('http://localhost:8787'),
  token: z.string().default(''),
});
export type Connection = z.infer<typeof Connection>;

export const DEFAULT_CONNECTION: Connection = Connection.parse({});
