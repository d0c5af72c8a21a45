import { z } from 'zod';

export const MODEL_FAMILIES = [
  'builtin',
  'sd1',
  'sd2',
  'sdxl',
  'sdxl-refiner',
  'sd-turbo',
  'sdxl-turbo',
  'lcm',
] as const;
export type ModelFamily = (typeof MODEL_FAMILIES)[number];

/** What `GET /v1/models` and `pixels models` tell about one model. */
export const ModelSummary = z.object({
  name: z.string(),
  family: z.enum(MODEL_FAMILIES),
  /** Native working size in pixels (the long side the model was trained at). */
  nativeSize: z.number().int().positive(),
  /** Image sides must be multiples of this. */
  sizeMultiple: z.number().int().positive(),
  /** Image pixels per latent cell along a side: 1 for a pixel-space model, which works at the image's own size. */
  vaeScaleFactor: z.number().int().positive(),
  dtype: z.enum(['float32', 'float16']),
  scheduler: z.string(),
  defaultGuidance: z.number(),
  /** Whether prompts change the result (the built-in model ignores them). */
  usesPrompt: z.boolean(),
  description: z.string(),
  /** Where each part was loaded from, relative to the model folder. */
  parts: z.record(z.string(), z.string()),
});
export type ModelSummary = z.infer<typeof ModelSummary>;

export const ModelList = z.object({ models: z.array(ModelSummary) });
export type ModelList = z.infer<typeof ModelList>;
