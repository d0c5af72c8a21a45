import type { Box } from '../common/box.ts';
import type { AffineTransform } from './figma-surface.ts';

export interface Orientation {
  /** Rotation in degrees, counter-clockwise as Figma shows it, in (-180, 180]. */
  rotation: number;
  /** Mirrored horizontally or vertically. */
  flipped: boolean;
  /** Neither rotated nor flipped: the layer's pixels line up with the canvas axes. */
  upright: boolean;
}

/** Reads rotation and mirroring from an absolute transform (Figma keeps size out of it). */
export function orientationOf(transform: AffineTransform): Orientation {
  const [[a, c], [b, d]] = transform;
  const flipped = a * d - b * c < 0;
  // Figma's rotation is counter-clockwise on screen, where y points down.
  const rotation = roundAngle((Math.atan2(-b, a) * 180) / Math.PI);
  const upright = !flipped && Math.abs(a - 1) < 1e-6 && Math.abs(d - 1) < 1e-6 && Math.abs(b) < 1e-6;
  return { rotation, flipped, upright };
}

function roundAngle(degrees: number): number {
  const rounded = Math.round(degrees * 100) / 100;
  return rounded === -180 ? 180 : rounded === 0 ? 0 : rounded;
}

/** Where an exported PNG lies in the working frame, in working pixels (x, y may be fractional). */
export interface PixelPlacement {
  x: number;
  y: number;
  width: number;
  height: number;
  /**
   * Which of the layer's boxes the PNG matched: `render` (with shadows and outside strokes),
   * `bounds` (the layer's own box), or `centered` when neither matched and the PNG was centred on
   * the layer's box.
   */
  matched: 'render' | 'bounds' | 'centered';
}

/** Figma rounds export sizes to whole pixels; anything within this is the same box. */
const SIZE_TOLERANCE_PX = 1.5;

/**
 * Places an exported PNG in the working frame. Figma's PNG may be larger than the layer's box
 * (shadows, blurs, outside strokes; rotated layers export their axis-aligned bounds), so the true
 * pixel size from the PNG header is matched against the render bounds and the plain bounds.
 */
export function placeExport(
  pngSize: { width: number; height: number },
  layer: { bounds: Box; renderBounds: Box | null },
  frameOrigin: { x: number; y: number },
  scale: number,
): PixelPlacement {
  // The plain bounds come first so that they win a tie (a layer without effects has equal boxes).
  const candidates: Array<{ box: Box; matched: 'render' | 'bounds' }> = [{ box: layer.bounds, matched: 'bounds' }];
  if (layer.renderBounds) candidates.push({ box: layer.renderBounds, matched: 'render' });
  let best: { box: Box; matched: 'render' | 'bounds'; error: number } | undefined;
  for (const candidate of candidates) {
    const error = Math.max(
      Math.abs(candidate.box.width * scale - pngSize.width),
      Math.abs(candidate.box.height * scale - pngSize.height),
    );
    if (error <= SIZE_TOLERANCE_PX && (!best || error < best.error)) best = { ...candidate, error };
  }
  if (best) {
    return {
      x: (best.box.x - frameOrigin.x) * scale,
      y: (best.box.y - frameOrigin.y) * scale,
      width: pngSize.width,
      height: pngSize.height,
      matched: best.matched,
    };
  }
  const centerX = (layer.bounds.x + layer.bounds.width / 2 - frameOrigin.x) * scale;
  const centerY = (layer.bounds.y + layer.bounds.height / 2 - frameOrigin.y) * scale;
  return {
    x: centerX - pngSize.width / 2,
    y: centerY - pngSize.height / 2,
    width: pngSize.width,
    height: pngSize.height,
    matched: 'centered',
  };
}
