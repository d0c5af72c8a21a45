import { FIGMA_MAX_IMAGE_SIDE } from '../png/figma-image-limit.ts';
import type { AffineTransform, Box } from './figma-surface.ts';

/** Overlap of two boxes, or null when they do not overlap (touching edges do not count). */
export function intersectBoxes(a: Box, b: Box): Box | null {
  const x = Math.max(a.x, b.x);
  const y = Math.max(a.y, b.y);
  const right = Math.min(a.x + a.width, b.x + b.width);
  const bottom = Math.min(a.y + a.height, b.y + b.height);
  if (right <= x || bottom <= y) return null;
  return { x, y, width: right - x, height: bottom - y };
}

/** Whether `inner` lies wholly inside `outer`, within `tolerance` canvas units. */
export function containsBox(outer: Box, inner: Box, tolerance = 0.01): boolean {
  return (
    inner.x >= outer.x - tolerance &&
    inner.y >= outer.y - tolerance &&
    inner.x + inner.width <= outer.x + outer.width + tolerance &&
    inner.y + inner.height <= outer.y + outer.height + tolerance
  );
}

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

export interface WorkingSize {
  /** Export scale: working pixels per canvas unit. */
  scale: number;
  width: number;
  height: number;
  /** The source's own size at 1x, before the cap. */
  fullWidth: number;
  fullHeight: number;
  /** Whether the cap made the working image smaller than the source at 1x. */
  capped: boolean;
}

/**
 * The pixel size the source is rasterized at: 1x, scaled down so that its long side is at most
 * `maxSide` pixels. Never scales up: an upscaled export would only add blur for the model to keep.
 */
export function workingSizeFor(source: Box, maxSide: number): WorkingSize {
  const fullWidth = Math.max(1, Math.round(source.width));
  const fullHeight = Math.max(1, Math.round(source.height));
  const longSide = Math.max(source.width, source.height);
  const scale = longSide > maxSide ? maxSide / longSide : 1;
  return {
    scale,
    width: Math.max(1, Math.round(source.width * scale)),
    height: Math.max(1, Math.round(source.height * scale)),
    fullWidth,
    fullHeight,
    capped: scale < 1,
  };
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

/** Context kept around the edit: a share of the region's long side, at least `floorPx` pixels. */
export const EDIT_MARGIN = Object.freeze({ fraction: 0.25, floorPx: 64 });

/** A rectangle in whole pixels of the working frame. */
export interface PixelRect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** What the edit reaches, as the main thread sees it from the layers' boxes (canvas units). */
export interface EditReach {
  /** Boxes of the exemplars (with their effects) and of a drawn map layer. */
  boxes: readonly Box[];
  /** How far the map spreads beyond the exemplars' shape, in working pixels (grow + feather). */
  spreadPx: number;
  /** The map changes pixels outside every box (an inverted drawn map): the edit is the whole frame. */
  everywhere: boolean;
}

export interface ExportPlan extends WorkingSize {
  /** The part of the working frame that is sent, in working pixels: the whole frame or the edit's region. */
  window: PixelRect;
  /** Whether `window` is smaller than the whole frame. */
  region: boolean;
}

function unionBoxes(boxes: readonly Box[]): Box | null {
  if (boxes.length === 0) return null;
  const x = Math.min(...boxes.map((box) => box.x));
  const y = Math.min(...boxes.map((box) => box.y));
  const right = Math.max(...boxes.map((box) => box.x + box.width));
  const bottom = Math.max(...boxes.map((box) => box.y + box.height));
  return { x, y, width: right - x, height: bottom - y };
}

function growBox(box: Box, by: number): Box {
  return { x: box.x - by, y: box.y - by, width: box.width + 2 * by, height: box.height + 2 * by };
}

/** The margin around a region whose long side is `longSide` (any unit; `floor` in the same unit). */
export function editMargin(longSide: number, floor: number = EDIT_MARGIN.floorPx): number {
  return Math.max(floor, EDIT_MARGIN.fraction * longSide);
}

/**
 * How the source is rasterized and which part of it is sent: the region around the edit (the
 * layers' reach, padded by the margin) or the whole frame, whichever has fewer pixels, at 1x
 * unless the working-size cap (`maxSide`, the longest side sent) or Figma's 4096 px limit on the
 * whole source's export makes it smaller. A region never has more pixels than the frame it lies in,
 * so the whole frame is sent only when the padded region covers it.
 */
export function planExport(source: Box, reach: EditReach | null, maxSide: number): ExportPlan {
  const exportLimit = Math.min(1, FIGMA_MAX_IMAGE_SIDE / Math.max(source.width, source.height));
  const frame: Box = { x: 0, y: 0, width: source.width, height: source.height };
  const covered = reach && !reach.everywhere ? unionBoxes(reach.boxes) : null;
  const reached = covered && intersectBoxes({ ...covered, x: covered.x - source.x, y: covered.y - source.y }, frame);
  // The window (canvas units) at a scale: the reach grown by the map's spread and the margin, both in pixels.
  const windowAt = (scale: number): Box => {
    if (!reached) return frame;
    const spread = growBox(reached, (reach!.spreadPx + 1) / scale);
    const margin = editMargin(Math.max(spread.width, spread.height), EDIT_MARGIN.floorPx / scale);
    return intersectBoxes(growBox(spread, margin), frame) ?? frame;
  };
  // A smaller scale widens the spread and margin in canvas units, so settle the scale in a few rounds.
  let scale = exportLimit;
  let window = windowAt(scale);
  for (let round = 0; round < 8; round++) {
    const next = Math.min(exportLimit, maxSide / Math.max(window.width, window.height));
    if (next >= scale) break;
    scale = next;
    window = windowAt(scale);
  }
  scale = Math.min(scale, maxSide / Math.max(window.width, window.height));
  const frameWidth = Math.max(1, Math.round(source.width * scale));
  const frameHeight = Math.max(1, Math.round(source.height * scale));
  const left = Math.max(0, Math.floor(window.x * scale));
  const top = Math.max(0, Math.floor(window.y * scale));
  const right = Math.min(frameWidth, Math.ceil((window.x + window.width) * scale), left + maxSide);
  const bottom = Math.min(frameHeight, Math.ceil((window.y + window.height) * scale), top + maxSide);
  const pixels: PixelRect = { x: left, y: top, width: Math.max(1, right - left), height: Math.max(1, bottom - top) };
  return {
    scale,
    width: frameWidth,
    height: frameHeight,
    fullWidth: Math.max(1, Math.round(source.width)),
    fullHeight: Math.max(1, Math.round(source.height)),
    capped: scale < 1,
    window: pixels,
    region: pixels.width < frameWidth || pixels.height < frameHeight,
  };
}

/**
 * The region an edit touches inside a window, in the window's pixels: every pixel where the map is
 * above zero or an exemplar covers anything (grown by `spreadPx`), padded by the margin and kept
 * inside the window.
 * Null when nothing is touched.
 */
export function editRegionOf(
  masks: ReadonlyArray<{ data: ArrayLike<number>; width: number; height: number }>,
  width: number,
  height: number,
  /** Pixels the edit reaches beyond what the masks mark (a map not built here), before the margin. */
  spreadPx = 0,
): PixelRect | null {
  let left = width;
  let top = height;
  let right = -1;
  let bottom = -1;
  for (const mask of masks) {
    if (mask.width !== width || mask.height !== height) {
      throw new Error(`editRegionOf: a mask is ${mask.width}x${mask.height}, the window ${width}x${height}.`);
    }
    for (let y = 0; y < height; y++) {
      const row = y * width;
      for (let x = 0; x < width; x++) {
        if (mask.data[row + x] <= 0) continue;
        if (x < left) left = x;
        if (x > right) right = x;
        if (y < top) top = y;
        if (y > bottom) bottom = y;
      }
    }
  }
  if (right < 0) return null;
  const spread = Math.ceil(spreadPx);
  left -= spread;
  top -= spread;
  right += spread;
  bottom += spread;
  const margin = Math.ceil(editMargin(Math.max(right - left + 1, bottom - top + 1)));
  const x = Math.max(0, left - margin);
  const y = Math.max(0, top - margin);
  return {
    x,
    y,
    width: Math.min(width, right + 1 + margin) - x,
    height: Math.min(height, bottom + 1 + margin) - y,
  };
}
