import { readPngSize } from '@pixels/shared';
import { fitFigmaImageLimit } from '../../png/figma-image-limit.ts';
import { encodePng } from '../../png/png-encode.ts';
import { shrinkRaster } from '../images/resize-raster.ts';
import type { DecodeImage } from './compose-layers.ts';

export interface FittedResult {
  png: Uint8Array;
  width: number;
  height: number;
  notes: string[];
}

/**
 * Makes a result PNG placeable: Figma's createImage takes at most 4096 px per side, so a larger
 * result is shrunk (and the panel says so). A result of the expected size passes untouched,
 * without being decoded.
 */
export async function fitResult(
  png: Uint8Array,
  expected: { width: number; height: number },
  decode: DecodeImage,
): Promise<FittedResult> {
  const size = readPngSize(png);
  const notes: string[] = [];
  if (size.width !== expected.width || size.height !== expected.height) {
    notes.push(
      `The server returned ${size.width}×${size.height} px for a ${expected.width}×${expected.height} px source; it was stretched over the source.`,
    );
  }
  const fit = fitFigmaImageLimit(size.width, size.height);
  if (fit.scale === 1) return { png, ...size, notes };
  const shrunk = shrinkRaster(await decode(png), fit.width, fit.height);
  notes.push(
    `The result is ${size.width}×${size.height} px, more than Figma's 4096 px image limit; it was placed downscaled to ${fit.width}×${fit.height}.`,
  );
  return { png: await encodePng(shrunk), width: fit.width, height: fit.height, notes };
}
