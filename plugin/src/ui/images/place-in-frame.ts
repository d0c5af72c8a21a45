import { createRaster, type Raster } from '../../png/raster.ts';

/**
 * Copies an RGBA layer into a transparent frame of `frameWidth` x `frameHeight` with its top-left
 * corner at (x, y) in frame pixels, rounded to the nearest pixel; whatever falls outside is cut off.
 * The export scale is shared by every layer, so layers only move, never resample.
 */
export function placeInFrame(layer: Raster, x: number, y: number, frameWidth: number, frameHeight: number): Raster {
  if (layer.channels !== 4) throw new Error('placeInFrame expects an RGBA layer.');
  const frame = createRaster(frameWidth, frameHeight, 4);
  const left = Math.round(x);
  const top = Math.round(y);
  const fromX = Math.max(0, -left);
  const toX = Math.min(layer.width, frameWidth - left);
  if (toX <= fromX) return frame;
  for (let row = Math.max(0, -top); row < Math.min(layer.height, frameHeight - top); row++) {
    const sourceStart = (row * layer.width + fromX) * 4;
    const sourceEnd = (row * layer.width + toX) * 4;
    frame.data.set(layer.data.subarray(sourceStart, sourceEnd), ((row + top) * frameWidth + left + fromX) * 4);
  }
  return frame;
}
