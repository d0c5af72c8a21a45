/** 8-bit pixels, row-major, `channels` per pixel: 1 (gray) or 4 (RGBA, not premultiplied). */
export interface Raster {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 4;
}

/** A transparent (or black) raster. */
export function createRaster(width: number, height: number, channels: 1 | 4): Raster {
  return { data: new Uint8Array(width * height * channels), width, height, channels };
}
