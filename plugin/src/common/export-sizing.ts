/**
 * Export sizing: how many pixels the plugin rasterizes and sends. Its cap, the export cap, is the
 * panel's "Working size" setting (`workingSize` on the wire, `maxSide` in the export message): the
 * longest side the plugin sends. It is not the model's native area, which the server works at.
 * Plain arithmetic on boxes and masks, so the main thread plans exports with it and the panel
 * measures regions and writes hints with the same numbers.
 */
import { FIGMA_MAX_IMAGE_SIDE } from '../png/figma-image-limit.ts';
import { type Box, growBox, intersectBoxes, unionBoxes } from './box.ts';

export interface ExportSize {
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
 * `exportCap` pixels. Never scales up: an upscaled export would only add blur for the model to keep.
 */
export function exportSizeFor(source: Box, exportCap: number): ExportSize {
  const fullWidth = Math.max(1, Math.round(source.width));
  const fullHeight = Math.max(1, Math.round(source.height));
  const longSide = Math.max(source.width, source.height);
  const scale = longSide > exportCap ? exportCap / longSide : 1;
  return {
    scale,
    width: Math.max(1, Math.round(source.width * scale)),
    height: Math.max(1, Math.round(source.height * scale)),
    fullWidth,
    fullHeight,
    capped: scale < 1,
  };
}

/** Context kept around the edit: a share of the region's long side, at least `floorPx` pixels. */
export const EDIT_MARGIN = Object.freeze({ fraction: 0.25, floorPx: 64 });

/**
 * How far a map built from the exemplars' shape reaches beyond the shape, in working pixels:
 * `shapeToMap` is above zero within grow + feather / 2 of the shape's edge, which lies half a
 * pixel past the centres of its outermost pixels.
 */
export function shapeMapReach(grow: number, feather: number): number {
  return Math.max(0, grow + feather / 2 + 0.5);
}

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
  /** How far the map spreads beyond the exemplars' shape, in working pixels (`shapeMapReach`). */
  spreadPx: number;
  /** The map changes pixels outside every box (an inverted drawn map): the edit is the whole frame. */
  everywhere: boolean;
}

export interface ExportPlan extends ExportSize {
  /** The part of the working frame that is sent, in working pixels: the whole frame or the edit's region. */
  window: PixelRect;
  /** Whether `window` is smaller than the whole frame. */
  region: boolean;
}

/** The margin around a region whose long side is `longSide` (any unit; `floor` in the same unit). */
export function editMargin(longSide: number, floor: number = EDIT_MARGIN.floorPx): number {
  return Math.max(floor, EDIT_MARGIN.fraction * longSide);
}

/**
 * What Figma's 4096 px limit applies to: the whole source, when it is exported whole and cropped,
 * or only the window, when the window alone is exported (through a slice).
 */
export type ExportLimitOn = 'source' | 'window';

/**
 * How the source is rasterized and which part of it is sent: the region around the edit (the
 * layers' reach, padded by the margin) or the whole frame, whichever has fewer pixels, at 1x
 * unless the export cap (`exportCap`, the longest side sent) or Figma's 4096 px limit on what is
 * exported (`limitOn`) makes it smaller. A region never has more pixels than the frame it lies in,
 * so the whole frame is sent only when the padded region covers it.
 */
export function planExport(
  source: Box,
  reach: EditReach | null,
  exportCap: number,
  limitOn: ExportLimitOn = 'source',
): ExportPlan {
  const exportLimit =
    limitOn === 'source' ? Math.min(1, FIGMA_MAX_IMAGE_SIDE / Math.max(source.width, source.height)) : 1;
  exportCap = Math.min(exportCap, FIGMA_MAX_IMAGE_SIDE);
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
    const next = Math.min(exportLimit, exportCap / Math.max(window.width, window.height));
    if (next >= scale) break;
    scale = next;
    window = windowAt(scale);
  }
  scale = Math.min(scale, exportCap / Math.max(window.width, window.height));
  const frameWidth = Math.max(1, Math.round(source.width * scale));
  const frameHeight = Math.max(1, Math.round(source.height * scale));
  const left = Math.max(0, Math.floor(window.x * scale));
  const top = Math.max(0, Math.floor(window.y * scale));
  const right = Math.min(frameWidth, Math.ceil((window.x + window.width) * scale), left + exportCap);
  const bottom = Math.min(frameHeight, Math.ceil((window.y + window.height) * scale), top + exportCap);
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
