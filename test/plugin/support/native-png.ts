import { promisify } from 'node:util';
import { constants, crc32, deflate } from 'node:zlib';
import { assemblePng, buildIhdrChunk, buildPngChunk, filterRowsUp, pngChunks } from '@pixels/shared';
import sharp from 'sharp';
import { decodePng } from '../../../plugin/src/png/png-decode.ts';
import type { Raster } from '../../../plugin/src/png/raster.ts';

const deflateAsync = promisify(deflate);

/**
 * PNG encoding in native code (Node's zlib at its fastest level, the "up" filter throughout),
 * standing in for Figma's own exporter, which is native too: the fake's exports should not cost
 * what a JavaScript encoder would, or the plugin's benchmark would charge Figma's work to the
 * plugin. The deflate runs on libuv's thread pool, so like Figma's exporter it does not hold up
 * the messages in flight to the panel.
 */
export async function encodePngNatively(raster: Raster): Promise<Uint8Array> {
  const { width, height, channels } = raster;
  const compressed = await deflateAsync(filterRowsUp(raster, 0, height), { level: constants.Z_BEST_SPEED });
  // zlib's native CRC, as a native exporter's: the table CRC in JavaScript would be charged to the plugin.
  return assemblePng([
    buildIhdrChunk({ width, height, bitDepth: 8, colorType: channels === 4 ? 6 : 0 }, crc32),
    buildPngChunk('IDAT', compressed, crc32),
    buildPngChunk('IEND', new Uint8Array(0)),
  ]);
}

/**
 * Decodes an image fill to RGBA as Figma does, natively (sharp, on the thread pool) for the 8-bit
 * truecolour PNGs that results and fixtures are, where libspng's bytes are exactly the PNG's; any
 * other PNG goes to the panel's exact JavaScript decoder.
 */
export async function decodePngNatively(bytes: Uint8Array): Promise<Raster> {
  const header = pngChunks(bytes).next().value;
  const plain = header?.type === 'IHDR' && header.data[8] === 8 && (header.data[9] === 2 || header.data[9] === 6);
  const colourChunks = [...pngChunks(bytes)].some((chunk) =>
    ['tRNS', 'gAMA', 'iCCP', 'cHRM', 'cICP', 'mDCV'].includes(chunk.type),
  );
  if (!plain || colourChunks) return decodePng(bytes);
  const { data, info } = await sharp(bytes).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return {
    data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    width: info.width,
    height: info.height,
    channels: 4,
  };
}
