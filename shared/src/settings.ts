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
    model: z
      .string()
      .min(1)
      .max(200)
      .default('builtin')
      .describe(
        "The model to run: a name from GET /v1/models, 1 to 200 characters. Default 'builtin' (the built-in model; no weights needed).",
      ),
    prompt: z
      .string()
      .max(DEFAULT_LIMITS.maxPromptLength)
      .default('')
      .describe(
        `Text prompt for text-conditioned models (a model with usesPrompt false, such as builtin, ignores it). ` +
          `Up to ${DEFAULT_LIMITS.maxPromptLength} characters (a server may allow fewer). Default empty.`,
      ),
    negativePrompt: z
      .string()
      .max(DEFAULT_LIMITS.maxPromptLength)
      .default('')
      .describe(
        `What the result should not look like, for text-conditioned models. Up to ${DEFAULT_LIMITS.maxPromptLength} characters. Default empty.`,
      ),
    guidance: z
      .number()
      .min(0)
      .max(50)
      .optional()
      .describe(
        "Classifier-free guidance scale, 0 to 50 (1 = off). Default: the model's own (defaultGuidance in GET /v1/models).",
      ),
    strength: z
      .number()
      .min(0)
      .max(1)
      .default(0.6)
      .describe(
        'How far up the noise schedule to start, 0 to 1: 0 returns the source unchanged, 1 starts from pure noise. Default 0.6.',
      ),
    steps: z
      .number()
      .int()
      .min(1)
      .max(DEFAULT_LIMITS.maxSteps)
      .default(20)
      .describe(
        `Scheduler steps at strength 1, an integer from 1 to ${DEFAULT_LIMITS.maxSteps} (a server may allow fewer); ` +
          'the loop runs the last floor(steps x strength) of them. Default 20.',
      ),
    threshold: z
      .enum(THRESHOLD_CURVES)
      .default('linear')
      .describe(
        'The curve by which the edit map releases the source over the run: linear; quadratic or cubic hold the source longer ' +
          '(closer to the map); log releases it earlier (more blending); sigmoid. Default linear.',
      ),
    seed: z
      .number()
      .int()
      .min(0)
      .max(MAX_SEED)
      .optional()
      .describe(
        `Noise seed, an integer from 0 to ${MAX_SEED}; the same seed and inputs give the same bytes. Default: random, reported with the result.`,
      ),
    invertMap: z
      .boolean()
      .default(false)
      .describe(
        "Read the edit map the other way round: white = keep the source, black = change fully (the paper's hold map). Default false (white = change).",
      ),
    pasteBack: z
      .boolean()
      .default(true)
      .describe(
        "Put the original pixels back exactly where the map is black (keep), fading out over a few pixels into the edit, never blended across the band, so unedited areas keep their exact colours. false: the model's pixels everywhere. Default true.",
      ),
    exemplarMode: z
      .enum(EXEMPLAR_MODES)
      .default('layered')
      .describe(
        "layered: every exemplar composited in one pass; iterative: one pass per exemplar, each pass's output the next one's source. Default layered.",
      ),
    fit: z
      .enum(FIT_MODES)
      .default('contain')
      .describe(
        "How an exemplar whose size differs from the source's is placed in the source frame: contain (scaled to fit inside), " +
          'cover (scaled to cover, centre-cropped), stretch, center (unscaled, centred). Default contain.',
      ),
    grow: z
      .number()
      .min(-512)
      .max(512)
      .default(0)
      .describe(
        "Only without a map part, when the map is built from the exemplars' alpha: move the shape's edge out by this many " +
          'source pixels (negative: in), -512 to 512. Default 0.',
      ),
    feather: z
      .number()
      .min(0)
      .max(1024)
      .default(32)
      .describe(
        "Only without a map part: soften the shape's edge over a band this many source pixels wide, centred on the edge, 0 to 1024. Default 32.",
      ),
    region: z
      .enum(REGION_MODES)
      .default('auto')
      .describe(
        "Which part of the source the model processes. auto: only the region the edit touches (edit map above 0, and the exemplars' coverage) " +
          "plus context, at the model's working size, composited back into the full-resolution source; " +
          "full: the whole source scaled to the working size and back. Default 'auto'.",
      ),
    regionMargin: z
      .number()
      .int()
      .min(0)
      .max(8192)
      .optional()
      .describe(
        "Context in source pixels around the edit region for region auto, an integer from 0 to 8192. Default: by model kind, 32 for a pixel-space model such as the built-in one (its reach, and only where an exemplar covers it), else an eighth of the region's long side, at least 32.",
      ),
    previews: z
      .boolean()
      .default(false)
      .describe('Send a small JPEG preview of the current estimate with each step event. Default false.'),
  })
  .strict();
export type EditSettings = z.infer<typeof EditSettings>;
export type EditSettingsInput = z.input<typeof EditSettings>;

/** Settings after a run: the seed is always known. */
export type ResolvedEditSettings = EditSettings & { seed: number };
