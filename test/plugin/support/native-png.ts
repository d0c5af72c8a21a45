import { crc32, deflateSync } from 'node:zlib';
import { assemblePng, buildIhdrChunk, buildPngChunk, filterRowsUp } from '@pixels/shared';
import type { Raster } from '../../../plugin/src/png/raster.ts';

/**
 * PNG encoding in native code (Node's zlib, the "up" filter throughout), standing in for Figma's
 * own exporter, which is native too: the fake's exports should not cost what a JavaScript encoder
 * would, or the plugin's benchmark would charge Figma's work to the plugin.
 */
export function encodePngNatively(raster: Raster): Uint8Array {
  const { width, height, channels } = raster;
  // zlib's native CRC, as a native exporter's: the table CRC in JavaScript would be charged to the plugin.
  return assemblePng([
    buildIhdrChunk({ width, height, bitDepth: 8, colorType: channels === 4 ? 6 : 0 }, crc32),
    buildPngChunk('IDAT', deflateSync(filterRowsUp(raster, 0, height)), crc32),
    buildPngChunk('IEND', new Uint8Array(0)),
  ]);
}
