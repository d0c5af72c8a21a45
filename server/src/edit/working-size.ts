export interface Size {
  width: number;
  height: number;
}

/**
 * The resolution the model runs at: the source's aspect ratio at the model's native area
 * (nativeSize², where it was trained), each side rounded to a multiple the model needs. Small
 * sources are scaled up, since latent diffusion models degrade far below their native size.
 */
export function workingSize(source: Size, nativeSize: number, multiple: number): Size {
  const aspect = source.width / source.height;
  const height = nativeSize / Math.sqrt(aspect);
  const width = height * aspect;
  const round = (side: number) => Math.max(multiple, Math.round(side / multiple) * multiple);
  return { width: round(width), height: round(height) };
}

/**
 * The time budget of a pixel-space model, as the largest area it works at. Its cost is linear in
 * pixels: a 20-step edit at strength 0.6 took 3.0 s at 512x512 and 11.4 s at 1024x1024 on the
 * shared 2-core CPU of BENCHMARKS.md, about 11 s per million pixels, so this bounds one edit to
 * about 45 s there. Larger sources are scaled down to it; the working size is announced in the
 * job's 'started' event (and the CLI's start line) before any step runs.
 */
export const PIXEL_SPACE_MAX_PIXELS = 2048 * 2048;

export interface WorkingSizeModel {
  nativeSize: number;
  sizeMultiple: number;
  /** Image pixels per latent cell: 1 for a pixel-space model. */
  vaeScaleFactor: number;
}

/**
 * The working size by model kind. A pixel-space model (VAE scale factor 1, the built-in one) has
 * no native size: it runs at the source's own size, so nothing is resampled, unless that exceeds
 * the pixel limit or PIXEL_SPACE_MAX_PIXELS, in which case the source is scaled down to fit.
 * Latent models keep the native-area rule of `workingSize`.
 */
export function workingSizeFor(source: Size, model: WorkingSizeModel, maxPixels: number): Size {
  if (model.vaeScaleFactor !== 1) return workingSize(source, model.nativeSize, model.sizeMultiple);
  const multiple = model.sizeMultiple;
  const limit = Math.min(maxPixels, PIXEL_SPACE_MAX_PIXELS);
  const scale = Math.min(1, Math.sqrt(limit / (source.width * source.height)));
  // Floor, so the rounded size never exceeds the limit.
  const side = (length: number) => Math.max(multiple, Math.floor((length * scale) / multiple) * multiple);
  return { width: side(source.width), height: side(source.height) };
}

export interface ShapeLimits {
  /** Longest side over shortest side. */
  maxAspectRatio: number;
  /** Shortest side of the working size, in pixels. */
  minWorkingSide: number;
}

/**
 * Why the model cannot serve an image of this shape, or undefined when it can: an aspect ratio
 * beyond `maxAspectRatio` (the working size would be a sliver, and a real model would allocate
 * attention for the long side), or a working size with a side under `minWorkingSide`.
 */
export function unservableShape(image: Size, model: WorkingSizeModel, limits: ShapeLimits): string | undefined {
  const aspect = Math.max(image.width, image.height) / Math.min(image.width, image.height);
  if (aspect > limits.maxAspectRatio) {
    return `its aspect ratio is 1:${aspect.toFixed(aspect < 100 ? 1 : 0)}, beyond the 1:${limits.maxAspectRatio} this server's models can serve; crop it closer to square`;
  }
  // The image is within the pixel limit already (its header was checked), so only the model's own rule applies.
  const working = workingSizeFor(image, model, Number.POSITIVE_INFINITY);
  if (Math.min(working.width, working.height) < limits.minWorkingSide) {
    return `the model would run it at ${working.width}x${working.height}, under the ${limits.minWorkingSide} px a side it needs; send a larger image, or one closer to square`;
  }
  return undefined;
}
