import { z } from 'zod';
import { THRESHOLD_CURVES } from './curves.ts';
import { DEFAULT_LIMITS } from './limits.ts';

/** How an exemplar whose size differs from the source is placed in the source frame. */
export const FIT_MODES = ['contain', 'cover', 'stretch', 'center'] as const;
export type FitMode = (typeof FIT_MODES)[number];

/**
 * How several exemplars are applied: `layered` composites all of them in one pass (paper,
 * Algorithm 2); `iterative` runs one pass per exemplar, each pass's output the next one's source
 * (paper, appendix B).
 */
export const EXEMPLAR_MODES = ['layered', 'iterative'] as const;
export type ExemplarMode = (typeof EXEMPLAR_MODES)[number];

/**
 * Which part of the source the model processes: `auto` crops to the region the edit touches plus
 * context and composites it back at full resolution; `full` scales the whole source.
 */
export const REGION_MODES = ['auto', 'full'] as const;
export type RegionMode = (typeof REGION_MODES)[number];

export const MAX_SEED = 2 ** 32 - 1;

/**
 * Everything that shapes one edit. Defaults live here and nowhere else.
 *
 * The edit map follows the inpainting habit: white = change fully, black = keep the source;
 * `invertMap` flips it. The engine turns it into the paper's hold map (1 = keep).
 */
export const EditSettings = z
  .object({
    model: z.string().min(1).max(200).default('builtin'),
    prompt: z.string().max(DEFAULT_LIMITS.maxPromptLength).default(''),
    negativePrompt: z.string().max(DEFAULT_LIMITS.maxPromptLength).default(''),
    /** Classifier-free guidance scale; absent = the model's own default (1 = off). */
    guidance: z.number().min(0).max(50).optional(),
    /** How far up the noise schedule to start: 0 returns the source, 1 starts from pure noise. */
    strength: z.number().min(0).max(1).default(0.6),
    /** Scheduler steps for strength 1; the loop runs the last `floor(steps * strength)` of them. */
    steps: z.number().int().min(1).max(DEFAULT_LIMITS.maxSteps).default(20),
    threshold: z.enum(THRESHOLD_CURVES).default('linear'),
    /** Absent = a random seed, reported with the result. */
    seed: z.number().int().min(0).max(MAX_SEED).optional(),
    invertMap: z.boolean().default(false),
    /** Paste the original pixels back where the map keeps them, feathered by the map. */
    pasteBack: z.boolean().default(true),
    exemplarMode: z.enum(EXEMPLAR_MODES).default('layered'),
    fit: z.enum(FIT_MODES).default('contain'),
    /** Map from the exemplars' alpha when no map is given: move the shape's edge out by this many source pixels (negative: in)... */
    grow: z.number().min(-512).max(512).default(0),
    /** ...and soften it over a band this many source pixels wide, centred on the edge. */
    feather: z.number().min(0).max(1024).default(32),
    region: z
      .enum(REGION_MODES)
      .default('auto')
      .describe(
        "'auto': process only the region the edit touches (edit map above 0, and the exemplars' coverage) plus " +
          'context, at the model working size, and composite it back into the full-resolution source; ' +
          "'full': scale the whole source to the working size and back.",
      ),
    regionMargin: z
      .number()
      .int()
      .min(0)
      .max(8192)
      .optional()
      .describe(
        "Context in source pixels around the edit region (region 'auto'); absent: an eighth of the region's long side, at least 32.",
      ),
    /** Send a small JPEG preview with each progress step. */
    previews: z.boolean().default(false),
  })
  .strict();
export type EditSettings = z.infer<typeof EditSettings>;
export type EditSettingsInput = z.input<typeof EditSettings>;

/** Settings after a run: the seed is always known. */
export type ResolvedEditSettings = EditSettings & { seed: number };
