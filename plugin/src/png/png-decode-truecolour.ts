import { isWholePng, pngChunks, unfilterRows } from '@pixels/shared';
import type { PixelRect } from '../common/export-sizing.ts';
import { inflate } from './deflate.ts';
import type { Raster } from './raster.ts';

/** What the fast path reads: 8-bit RGB or RGBA, not interlaced, no transparency key. */
interface TruecolourPng {
  width: number;
  height: number;
  /** Bytes per pixel: 3 (RGB) or 4 (RGBA). */
  channels: 3 | 4;
  idat: Uint8Array[];
}

function truecolourLayout(bytes: Uint8Array): TruecolourPng | null {
  if (!isWholePng(bytes)) return null;
  let header: Omit<TruecolourPng, 'idat'> | null = null;
  const idat: Uint8Array[] = [];
  for (const chunk of pngChunks(bytes)) {
    if (chunk.type === 'IHDR') {
      const view = new DataView(chunk.data.buffer, chunk.data.byteOffset, chunk.data.byteLength);
      const [bitDepth, colorType, , , interlace] = chunk.data.subarray(8, 13);
      if (bitDepth !== 8 || (colorType !== 2 && colorType !== 6) || interlace !== 0) return null;
      header = { width: view.getUint32(0), height: view.getUint32(4), channels: colorType === 6 ? 4 : 3 };
    } else if (chunk.type === 'tRNS') return null;
    else if (chunk.type === 'IDAT') idat.push(chunk.data);
  }
  return header && idat.length > 0 ? { ...header, idat } : null;
}

/**
 * Decodes the PNGs Figma exports and the server returns (8-bit RGBA or RGB, not interlaced, no
 * transparency key) with the platform's native inflate and the row filters undone here: the same
 * bytes fast-png gives (neither applies colour chunks), at a fraction of its cost, alpha kept
 * exactly (no canvas premultiplying). Only the rows down to the region's last are unfiltered.
 * Returns null for any other PNG, which the caller decodes with fast-png.
 */
export async function decodeTruecolourPng(bytes: Uint8Array, region?: PixelRect): Promise<Raster | null> {
  const layout = truecolourLayout(bytes);
  if (!layout) return null;
  const { width, height, channels } = layout;
  const area = region ?? { x: 0, y: 0, width, height };
  if (area.x < 0 || area.y < 0 || area.width < 1 || area.height < 1) return null;
  if (area.x + area.width > width || area.y + area.height > height) return null;
  const joined = layout.idat.length === 1 ? layout.idat[0] : concat(layout.idat);
  let filtered: Uint8Array;
  try {
    filtered = await inflate(joined);
  } catch {
    return null;
  }
  const stride = width * channels;
  const rows = area.y + area.height;
  if (filtered.length < rows * (stride + 1)) return null;
  const pixels = unfilterRows({ data: filtered, stride, bytesPerPixel: channels }, 0, rows);
  if (channels === 4 && area.x === 0 && area.y === 0 && area.width === width && area.height === height)
    return { data: pixels, width, height, channels: 4 };
  const data = new Uint8Array(area.width * area.height * 4);
  if (channels === 4) {
    for (let row = 0; row < area.height; row++) {
      const from = ((row + area.y) * width + area.x) * 4;
      data.set(pixels.subarray(from, from + area.width * 4), row * area.width * 4);
    }
  } else {
    for (let row = 0; row < area.height; row++) {
      let from = ((row + area.y) * width + area.x) * 3;
      let to = row * area.width * 4;
      for (let x = 0; x < area.width; x++, from += 3, to += 4) {
        data[to] = pixels[from];
        data[to + 1] = pixels[from + 1];
        data[to + 2] = pixels[from + 2];
        data[to + 3] = 255;
      }
    }
  }
  return { data, width: area.width, height: area.height, channels: 4 };
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
