import type { GrayMap } from '@pixels/shared';
import { createRaster, type Raster } from '../../png/raster.ts';

/** Figma's selection blue: the preview tints what will change in it. */
const TINT = [13, 153, 255] as const;
const TINT_STRENGTH = 0.65;
/** Lighter over the pasted exemplars, so they stay readable. */
const EXEMPLAR_TINT_STRENGTH = 0.3;

/**
 * The edit-map preview: the source with the map laid over it as a blue tint, strongest where the
 * map says "change fully"; transparent source pixels show as light gray.
 */
export function overlayMap(source: Raster, map: GrayMap, strength = TINT_STRENGTH): Raster {
  if (source.width !== map.width || source.height !== map.height) {
    throw new Error(
      `overlayMap: the map is ${map.width}x${map.height} but the source is ${source.width}x${source.height}.`,
    );
  }
  const out = createRaster(source.width, source.height, 4);
  for (let i = 0; i < map.data.length; i++) {
    const o = i * 4;
    const coverage = source.data[o + 3] / 255;
    const tint = Math.min(1, Math.max(0, map.data[i])) * strength;
    for (let c = 0; c < 3; c++) {
      const base = source.data[o + c] * coverage + 230 * (1 - coverage);
      out.data[o + c] = Math.round(base * (1 - tint) + TINT[c] * tint);
    }
    out.data[o + 3] = 255;
  }
  return out;
}

/**
 * What will be pasted: the exemplars composited over the source by their own alpha (top one
 * last), under a lighter tint of the map, so both the pasted pixels and the strength show.
 */
export function overlayExemplars(source: Raster, exemplars: readonly Raster[], map: GrayMap): Raster {
  const pasted = createRaster(source.width, source.height, 4);
  pasted.data.set(source.data);
  for (const exemplar of exemplars) {
    if (exemplar.width !== source.width || exemplar.height !== source.height) {
      throw new Error(
        `overlayExemplars: an exemplar is ${exemplar.width}x${exemplar.height} but the source is ${source.width}x${source.height}.`,
      );
    }
    for (let o = 0; o < pasted.data.length; o += 4) {
      const alpha = exemplar.data[o + 3] / 255;
      if (alpha === 0) continue;
      for (let c = 0; c < 3; c++)
        pasted.data[o + c] = Math.round(exemplar.data[o + c] * alpha + pasted.data[o + c] * (1 - alpha));
      pasted.data[o + 3] = Math.max(pasted.data[o + 3], exemplar.data[o + 3]);
    }
  }
  return overlayMap(pasted, map, EXEMPLAR_TINT_STRENGTH);
}
