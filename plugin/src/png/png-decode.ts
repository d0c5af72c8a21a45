import { isWholePng, pngChunks } from '@pixels/shared';
import { convertIndexedToRgb, type DecodedPng, decode } from 'fast-png';
import type { PixelRect } from '../common/export-sizing.ts';
import type { Raster } from './raster.ts';

/**
 * Decodes a PNG to 8-bit RGBA (not premultiplied), exactly, with fast-png: every color type, bit
 * depth and interlace method of the PNG spec, transparency chunks included. 16-bit samples keep
 * their high byte. One decoder for every PNG the panel reads, so no pixel is rounded by a canvas.
 */
export async function decodePng(bytes: Uint8Array, region?: PixelRect): Promise<Raster> {
  if (!isWholePng(bytes)) {
    throw new Error(
      bytes.length > 8 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47
        ? `The PNG is truncated or damaged (${bytes.length} bytes, its chunks end early); export it again.`
        : `Expected a PNG file, got ${bytes.length} bytes that do not start with the PNG signature.`,
    );
  }
  const header = pngChunks(bytes).next().value;
  // fast-png reads Adam7 passes a whole byte per sample, which is wrong for packed 1, 2 and 4-bit samples.
  if (header?.type === 'IHDR' && header.data[8] < 8 && header.data[12] === 1) {
    throw new Error(
      `The PNG is interlaced at ${header.data[8]} bits per sample, which the panel cannot read; export it without interlacing.`,
    );
  }
  let decoded: DecodedPng;
  try {
    decoded = decode(bytes);
  } catch (error) {
    throw new Error(`The PNG could not be decoded (${(error as Error).message}); export it again.`);
  }
  const raster: Raster = { data: toRgba8(decoded), width: decoded.width, height: decoded.height, channels: 4 };
  return region ? cropRaster(raster, region) : raster;
}

/** `region` of an RGBA raster (the whole raster when it is the whole). */
export function cropRaster(raster: Raster, region: PixelRect): Raster {
  const { x, y, width, height } = region;
  if (x < 0 || y < 0 || width < 1 || height < 1 || x + width > raster.width || y + height > raster.height) {
    throw new Error(
      `The region ${width}x${height} at (${x}, ${y}) is not inside the ${raster.width}x${raster.height} image.`,
    );
  }
  if (x === 0 && y === 0 && width === raster.width && height === raster.height) return raster;
  const data = new Uint8Array(width * height * 4);
  for (let row = 0; row < height; row++) {
    const from = ((row + y) * raster.width + x) * 4;
    data.set(raster.data.subarray(from, from + width * 4), row * width * 4);
  }
  return { data, width, height, channels: 4 };
}

/** One sample as a byte: 16-bit keeps its high byte, 1/2/4-bit are scaled to 0..255. */
function sampleReader(decoded: DecodedPng): (index: number) => number {
  const { data, depth, width, channels } = decoded;
  if (depth === 8) return (index) => data[index];
  if (depth === 16) return (index) => data[index] >> 8;
  const rowBytes = Math.ceil((width * channels * depth) / 8);
  const perRow = width * channels;
  const scale = 255 / ((1 << depth) - 1);
  return (index) => Math.round(packedSample(data, rowBytes, perRow, depth, index) * scale);
}

/** The raw value of sample `index` (row-major, rows padded to whole bytes) at 1, 2 or 4 bits. */
function packedSample(data: ArrayLike<number>, rowBytes: number, perRow: number, depth: number, index: number): number {
  const row = Math.floor(index / perRow);
  const bit = (index % perRow) * depth;
  const byte = data[row * rowBytes + (bit >> 3)];
  return (byte >> (8 - depth - (bit & 7))) & ((1 << depth) - 1);
}

function toRgba8(decoded: DecodedPng): Uint8Array {
  const { width, height, channels, data, depth, palette, transparency } = decoded;
  // Figma's exports and the server's results are 8-bit RGBA: fast-png's own buffer is the answer.
  if (depth === 8 && channels === 4 && !palette && data instanceof Uint8Array) return data;
  const pixels = width * height;
  const out = new Uint8Array(pixels * 4);
  if (palette) {
    const colors = convertIndexedToRgb(decoded);
    const perPixel = palette[0].length;
    for (let p = 0; p < pixels; p++) {
      out[p * 4] = colors[p * perPixel];
      out[p * 4 + 1] = colors[p * perPixel + 1];
      out[p * 4 + 2] = colors[p * perPixel + 2];
      out[p * 4 + 3] = perPixel === 4 ? colors[p * perPixel + 3] : 255;
    }
    return out;
  }
  const sample = sampleReader(decoded);
  // A tRNS color key is compared with the raw samples, at their own depth (PNG spec §11.3.2.1).
  const raw =
    depth < 8
      ? (index: number) => packedSample(data, Math.ceil((width * channels * depth) / 8), width * channels, depth, index)
      : (index: number) => data[index];
  const keyed = (first: number, count: number) => {
    if (!transparency || transparency.length < count) return false;
    for (let c = 0; c < count; c++) if (raw(first + c) !== transparency[c]) return false;
    return true;
  };
  for (let p = 0; p < pixels; p++) {
    const first = p * channels;
    const o = p * 4;
    if (channels <= 2) {
      out[o] = out[o + 1] = out[o + 2] = sample(first);
      out[o + 3] = channels === 2 ? sample(first + 1) : keyed(first, 1) ? 0 : 255;
    } else {
      out[o] = sample(first);
      out[o + 1] = sample(first + 1);
      out[o + 2] = sample(first + 2);
      out[o + 3] = channels === 4 ? sample(first + 3) : keyed(first, 3) ? 0 : 255;
    }
  }
  return out;
}
