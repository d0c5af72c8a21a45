import { encodePng } from '../../../plugin/src/png/png-encode.ts';
import { createRaster, type Raster } from '../../../plugin/src/png/raster.ts';

export type Rgba = readonly [number, number, number, number];

/** An RGBA raster of one colour. */
export function solidRaster(width: number, height: number, color: Rgba): Raster {
  const raster = createRaster(width, height, 4);
  for (let i = 0; i < width * height; i++) raster.data.set(color, i * 4);
  return raster;
}

/** An RGBA raster whose every pixel is computed from its position. */
export function rasterFrom(width: number, height: number, pixel: (x: number, y: number) => Rgba): Raster {
  const raster = createRaster(width, height, 4);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) raster.data.set(pixel(x, y), (y * width + x) * 4);
  return raster;
}

/** A smooth, non-repeating test pattern: every pixel differs from its neighbours. */
export function patternRaster(width: number, height: number, alpha = 255): Raster {
  return rasterFrom(width, height, (x, y) => [(x * 7 + y * 3) & 255, (x * 2 + y * 11) & 255, (x * y) & 255, alpha]);
}

/** Opaque disc of `color` on a transparent background. */
export function discRaster(size: number, color: Rgba): Raster {
  const center = (size - 1) / 2;
  return rasterFrom(size, size, (x, y) =>
    Math.hypot(x - center, y - center) <= size / 2 - 0.5 ? color : [0, 0, 0, 0],
  );
}

export function pngOf(raster: Raster): Promise<Uint8Array> {
  return encodePng(raster);
}

export function pixelAt(raster: Raster, x: number, y: number): number[] {
  const o = (y * raster.width + x) * raster.channels;
  return Array.from(raster.data.subarray(o, o + raster.channels));
}
