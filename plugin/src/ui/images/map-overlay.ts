import type { GrayMap } from '@pixels/shared';
import { createRaster, type Raster } from '../../png/raster.ts';

/** Figma's selection blue: the preview tints what will change in it. */
const TINT = [13, 153, 255] as const;
const TINT_STRENGTH = 0.65;

/**
 * The edit-map preview: the source with the map laid over it as a blue tint, strongest where the
 * map says "change fully"; transparent source pixels show as light gray.
 */
export function overlayMap(source: Raster, map: GrayMap): Raster {
  if (source.width !== map.width || source.height !== map.height) {
    throw new Error(
      `overlayMap: the map is ${map.width}x${map.height} but the source is ${source.width}x${source.height}.`,
    );
  }
  const out = createRaster(source.width, source.height, 4);
  for (let i = 0; i < map.data.length; i++) {
    const o = i * 4;
    const coverage = source.data[o + 3] / 255;
    const tint = Math.min(1, Math.max(0, map.data[i])) * TINT_STRENGTH;
    for (let c = 0; c < 3; c++) {
      const base = source.data[o + c] * coverage + 230 * (1 - coverage);
      out.data[o + c] = Math.round(base * (1 - tint) + TINT[c] * tint);
    }
    out.data[o + 3] = 255;
  }
  return out;
}
