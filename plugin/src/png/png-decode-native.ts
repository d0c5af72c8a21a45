import { isWholePng, pngChunks } from '@pixels/shared';
import type { PixelRect } from '../common/export-sizing.ts';
import type { ExpectedAlpha } from './expected-alpha.ts';
import { decodePng } from './png-decode.ts';
import { decodeTruecolourPng } from './png-decode-truecolour.ts';
import type { Raster } from './raster.ts';

/** Chunks that ask a decoder to convert colours; a canvas could apply them, fast-png never does. */
const COLOUR_CHUNKS = new Set(['gAMA', 'cHRM', 'iCCP', 'cICP', 'mDCV']);

/**
 * Whether the browser's own decoder gives exactly fast-png's bytes for this PNG, as far as the
 * header tells: 8-bit truecolour (RGB, or RGBA whose alpha is checked after decoding) with no
 * colour-conversion chunk. Palette, gray and 16-bit images go to fast-png.
 */
function nativeCandidate(bytes: Uint8Array): { width: number; height: number } | null {
  let header: { width: number; height: number } | null = null;
  for (const chunk of pngChunks(bytes)) {
    if (chunk.type === 'IHDR') {
      const view = new DataView(chunk.data.buffer, chunk.data.byteOffset, chunk.data.byteLength);
      const bitDepth = chunk.data[8];
      const colorType = chunk.data[9];
      if (bitDepth !== 8 || (colorType !== 2 && colorType !== 6)) return null;
      header = { width: view.getUint32(0), height: view.getUint32(4) };
    } else if (COLOUR_CHUNKS.has(chunk.type) || chunk.type === 'tRNS') return null;
    else if (chunk.type === 'IDAT') break;
  }
  return header;
}

/**
 * Decodes with the browser's native PNG decoder (createImageBitmap, off the main thread, then one
 * canvas read-back) when that is provably exact, else returns null. Chromium keeps canvas pixels
 * premultiplied, which rounds the colour of any pixel whose alpha is below 255; with every pixel
 * opaque, premultiplying is the identity, and with colour conversion off no profile is applied.
 * So the result is kept only when every decoded alpha is 255 — a photo source, a blend result.
 */
export async function decodePngNatively(bytes: Uint8Array, region?: PixelRect): Promise<Raster | null> {
  if (typeof createImageBitmap !== 'function' || typeof OffscreenCanvas !== 'function') return null;
  const header = isWholePng(bytes) ? nativeCandidate(bytes) : null;
  if (!header) return null;
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'image/png' }), {
      premultiplyAlpha: 'none',
      colorSpaceConversion: 'none',
    });
  } catch {
    return null;
  }
  try {
    if (bitmap.width !== header.width || bitmap.height !== header.height) return null;
    const { x, y, width, height } = region ?? { x: 0, y: 0, width: bitmap.width, height: bitmap.height };
    if (x < 0 || y < 0 || width < 1 || height < 1 || x + width > bitmap.width || y + height > bitmap.height)
      return null;
    // Only the region is drawn and read back, 1:1 (no resampling: source and target sizes agree).
    const context = new OffscreenCanvas(width, height).getContext('2d', { willReadFrequently: true });
    if (!context) return null;
    context.drawImage(bitmap, x, y, width, height, 0, 0, width, height);
    const image = context.getImageData(0, 0, width, height, { colorSpace: 'srgb' });
    const data = new Uint8Array(image.data.buffer, image.data.byteOffset, image.data.byteLength);
    // Every fourth byte from the end, as 32-bit words: alpha is the top byte of each little-endian word.
    const words = new Uint32Array(data.buffer, data.byteOffset, data.byteLength >> 2);
    for (let i = 0; i < words.length; i++) if (words[i] < 0xff000000) return null;
    return { data, width, height, channels: 4 };
  } finally {
    bitmap.close();
  }
}

/**
 * The panel's decoder, exact every way. A layer expected to be opaque (a source) goes first to the
 * browser's decoder, which decodes off the main thread but is exact only when every pixel is
 * opaque; one expected to hold transparency (an exemplar, a map) goes straight to the native
 * inflate with filters undone here, which the browser's would only decode to reject. fast-png
 * takes whatever neither reads (palette, gray, 16-bit, interlaced).
 */
export async function decodePngInBrowser(
  bytes: Uint8Array,
  region?: PixelRect,
  expect?: ExpectedAlpha,
): Promise<Raster> {
  const native = expect === 'transparent' ? null : await decodePngNatively(bytes, region);
  return native ?? (await decodeTruecolourPng(bytes, region)) ?? decodePng(bytes, region);
}
