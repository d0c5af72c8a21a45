import { assemblePng, buildIhdrChunk, buildPngChunk, filterRowsUp } from '@pixels/shared';
import { deflate } from './deflate.ts';
import type { Raster } from './raster.ts';

const COLOR_TYPE = { 1: 0, 4: 6 } as const;

/**
 * Encodes an 8-bit gray or RGBA raster as PNG, exactly (no premultiplied-alpha round trip as a
 * canvas would make), so exemplar alpha and map values reach the server as computed. Every row
 * uses the Up filter, computed four bytes at a time, and the platform's native deflate: choosing
 * a filter per row in JavaScript cost several times the deflate itself for a few percent smaller
 * files, on a blend's critical path.
 */
export async function encodePng(raster: Raster): Promise<Uint8Array> {
  const { width, height, channels, data } = raster;
  if (data.length !== width * height * channels) {
    throw new Error(
      `encodePng: ${data.length} bytes do not make a ${width}x${height} image with ${channels} channels.`,
    );
  }
  const compressed = await deflate(filterRowsUp(raster, 0, height));
  return assemblePng([
    buildIhdrChunk({ width, height, bitDepth: 8, colorType: COLOR_TYPE[channels] }),
    buildPngChunk('IDAT', compressed),
    buildPngChunk('IEND', new Uint8Array(0)),
  ]);
}
