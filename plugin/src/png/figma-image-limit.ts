/** Figma's `createImage` refuses images larger than this on either side. */
export const FIGMA_MAX_IMAGE_SIDE = 4096;

/** The largest size with the same aspect ratio that Figma accepts as an image (unchanged if it fits). */
export function fitFigmaImageLimit(
  width: number,
  height: number,
  limit = FIGMA_MAX_IMAGE_SIDE,
): { width: number; height: number; scale: number } {
  const scale = Math.min(1, limit / Math.max(width, height));
  if (scale === 1) return { width, height, scale };
  return {
    width: Math.min(limit, Math.round(width * scale)),
    height: Math.min(limit, Math.round(height * scale)),
    scale,
  };
}
