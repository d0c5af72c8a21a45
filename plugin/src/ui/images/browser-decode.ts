import { decodePng, UnsupportedPngError } from '../../png/png-decode.ts';
import type { Raster } from '../../png/raster.ts';

/** Decodes with the browser (for interlaced PNGs); canvas readback may round semi-transparent pixels. */
async function decodeWithBrowser(png: Uint8Array): Promise<Raster> {
  const blob = new Blob([png as Uint8Array<ArrayBuffer>], { type: 'image/png' });
  const bitmap = await createImageBitmap(blob, { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const context = canvas.getContext('2d');
  if (!context) throw new Error('This browser cannot draw images off screen, so the PNG could not be decoded.');
  context.drawImage(bitmap, 0, 0);
  const pixels = context.getImageData(0, 0, bitmap.width, bitmap.height).data;
  return { data: new Uint8Array(pixels.buffer), width: bitmap.width, height: bitmap.height, channels: 4 };
}

/** The panel's PNG decoder: exact in JavaScript, the browser's for what that does not handle. */
export async function decodeImage(png: Uint8Array): Promise<Raster> {
  try {
    return await decodePng(png);
  } catch (error) {
    if (error instanceof UnsupportedPngError) return decodeWithBrowser(png);
    throw error;
  }
}
