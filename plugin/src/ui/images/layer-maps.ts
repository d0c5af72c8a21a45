import type { GrayMap } from '@pixels/shared';
import type { Raster } from '../../png/raster.ts';

/** A layer's coverage: its alpha, 0..1 per pixel. */
export function alphaOf(layer: Raster): GrayMap {
  const data = new Float32Array(layer.width * layer.height);
  for (let i = 0; i < data.length; i++) data[i] = layer.data[i * 4 + 3] / 255;
  return { data, width: layer.width, height: layer.height };
}

/**
 * A drawn map layer as an edit map: its brightness (Rec. 709 luma) times its alpha, so the parts
 * of the frame the map layer does not cover count as black (keep the source).
 */
export function mapFromDrawnLayer(layer: Raster): GrayMap {
  const data = new Float32Array(layer.width * layer.height);
  for (let i = 0; i < data.length; i++) {
    const o = i * 4;
    const luma = 0.2126 * layer.data[o] + 0.7152 * layer.data[o + 1] + 0.0722 * layer.data[o + 2];
    data[i] = (luma / 255) * (layer.data[o + 3] / 255);
  }
  return { data, width: layer.width, height: layer.height };
}

/** A map as an 8-bit gray raster (0 = black, 1 = white), for encoding as PNG. */
export function grayRasterOf(map: GrayMap): Raster {
  const data = new Uint8Array(map.width * map.height);
  for (let i = 0; i < data.length; i++) data[i] = Math.round(Math.min(1, Math.max(0, map.data[i])) * 255);
  return { data, width: map.width, height: map.height, channels: 1 };
}
