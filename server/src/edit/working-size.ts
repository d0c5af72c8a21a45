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
export function unservableShape(
  image: Size,
  model: { nativeSize: number; sizeMultiple: number },
  limits: ShapeLimits,
): string | undefined {
  const aspect = Math.max(image.width, image.height) / Math.min(image.width, image.height);
  if (aspect > limits.maxAspectRatio) {
    return `its aspect ratio is 1:${aspect.toFixed(aspect < 100 ? 1 : 0)}, beyond the 1:${limits.maxAspectRatio} this server's models can serve; crop it closer to square`;
  }
  const working = workingSize(image, model.nativeSize, model.sizeMultiple);
  if (Math.min(working.width, working.height) < limits.minWorkingSide) {
    return `the model would run it at ${working.width}x${working.height}, under the ${limits.minWorkingSide} px a side it needs; crop it closer to square`;
  }
  return undefined;
}
