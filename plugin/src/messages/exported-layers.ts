import { z } from 'zod';
import { Bytes } from './bytes.ts';

/** Where an exported PNG lies in the working frame, in working pixels (see placeExport). */
export const PixelPlacement = z.object({
  x: z.number(),
  y: z.number(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  matched: z.enum(['render', 'bounds', 'centered']),
});

export const ExportedLayer = z.object({
  id: z.string(),
  name: z.string(),
  /** The PNG exactly as Figma exported it. */
  png: Bytes,
  placement: PixelPlacement,
});
export type ExportedLayer = z.infer<typeof ExportedLayer>;

/** The selection rasterized by the main thread; the UI composites it into the working frame. */
export const ExportedLayers = z.object({
  frame: z.object({
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    /** Working pixels per canvas unit. */
    scale: z.number().positive(),
    /** The source's size at 1x. */
    fullWidth: z.number().int().positive(),
    fullHeight: z.number().int().positive(),
    capped: z.boolean(),
    /**
     * The part of the frame to send, in working pixels: the region around the edit (padded by a
     * margin), or the whole frame. Layers are composited into it, never into the whole frame.
     */
    window: z.object({
      x: z.number().int().nonnegative(),
      y: z.number().int().nonnegative(),
      width: z.number().int().positive(),
      height: z.number().int().positive(),
    }),
    /** Whether `window` is smaller than the frame (only the edit's region is sent). */
    region: z.boolean(),
  }),
  source: ExportedLayer,
  /** Bottom first: the last one is composited on top. */
  exemplars: z.array(ExportedLayer),
  map: ExportedLayer.optional(),
  /** Things the designer should know (working size capped, export placement guessed...). */
  notes: z.array(z.string()),
});
export type ExportedLayers = z.infer<typeof ExportedLayers>;
