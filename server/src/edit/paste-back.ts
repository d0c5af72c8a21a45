import type { GrayMap } from '@pixels/shared';
import type { RawImage } from '../images/codec.ts';

/**
 * Edit-map values at or below this keep the source: the original pixels go back there exactly.
 * Two grey levels (and a half, for float rounding), so a map that was drawn black but went through
 * a resampler still counts as black.
 */
export const KEEP_LEVEL = 2.5 / 255;

/** How far (in pixels) the original fades out beyond the kept region, so no seam line appears. */
export const FEATHER_PIXELS = 3;

export interface PasteBackOptions {
  /** Map values ≤ keepLevel are kept exactly. */
  keepLevel?: number;
  /** Width of the fade from the kept region into the edited one. */
  featherPixels?: number;
}

/**
 * How much of the original each pixel takes back: 1 where the map keeps the source, fading to 0
 * over `featherPixels` into the edited area (chamfer distance, 3-4 weights), 0 everywhere else.
 * The band between black and white is the model's, not an alpha blend of source and result: the
 * map already told the model how long to hold the source there, and blending again would apply
 * it twice.
 */
export function keepWeights(editMap: GrayMap, options: PasteBackOptions = {}): Float32Array {
  const keepLevel = options.keepLevel ?? KEEP_LEVEL;
  const feather = options.featherPixels ?? FEATHER_PIXELS;
  const { width, height } = editMap;
  // Distance to the nearest kept pixel in thirds of a pixel (3 straight, 4 diagonal).
  const far = 3 * (feather + 1);
  const distance = new Float32Array(width * height);
  for (let i = 0; i < distance.length; i++) distance[i] = editMap.data[i] <= keepLevel ? 0 : far;
  const relax = (i: number, j: number, step: number) => {
    if (distance[j] + step < distance[i]) distance[i] = distance[j] + step;
  };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      if (x > 0) relax(i, i - 1, 3);
      if (y > 0) {
        relax(i, i - width, 3);
        if (x > 0) relax(i, i - width - 1, 4);
        if (x < width - 1) relax(i, i - width + 1, 4);
      }
    }
  }
  for (let y = height - 1; y >= 0; y--) {
    for (let x = width - 1; x >= 0; x--) {
      const i = y * width + x;
      if (x < width - 1) relax(i, i + 1, 3);
      if (y < height - 1) {
        relax(i, i + width, 3);
        if (x < width - 1) relax(i, i + width + 1, 4);
        if (x > 0) relax(i, i + width - 1, 4);
      }
    }
  }
  const weights = new Float32Array(width * height);
  for (let i = 0; i < weights.length; i++) {
    const t = Math.max(0, 1 - distance[i] / far);
    weights[i] = t * t * (3 - 2 * t); // smoothstep: no kink where the fade starts or ends
  }
  return weights;
}

/**
 * The model's RGB result with the original pixels put back where the map keeps the source
 * (map ≤ keepLevel), feathered over a few pixels; the source's alpha throughout, so a transparent
 * source stays transparent. `original` is RGBA, `result` RGB, both at the map's size.
 */
export function pasteBack(
  original: RawImage,
  result: RawImage,
  editMap: GrayMap,
  options: PasteBackOptions = {},
): RawImage {
  const { width, height } = editMap;
  for (const [name, image, channels] of [
    ['original', original, 4],
    ['result', result, 3],
  ] as const) {
    if (image.width !== width || image.height !== height || image.channels !== channels) {
      throw new Error(
        `pasteBack: ${name} is ${image.width}x${image.height}x${image.channels}, expected ${width}x${height}x${channels}`,
      );
    }
  }
  const weights = keepWeights(editMap, options);
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < weights.length; i++) {
    const keep = weights[i];
    for (let c = 0; c < 3; c++) {
      const model = result.data[i * 3 + c];
      data[i * 4 + c] = keep === 0 ? model : Math.round(original.data[i * 4 + c] * keep + model * (1 - keep));
    }
    data[i * 4 + 3] = original.data[i * 4 + 3];
  }
  return { data, width, height, channels: 4 };
}

/** The model's RGB result with the source's alpha: what comes back with paste-back off. */
export function withSourceAlpha(original: RawImage, result: RawImage): RawImage {
  const data = new Uint8Array(result.width * result.height * 4);
  for (let i = 0; i < result.width * result.height; i++) {
    for (let c = 0; c < 3; c++) data[i * 4 + c] = result.data[i * 3 + c];
    data[i * 4 + 3] = original.data[i * 4 + 3];
  }
  return { data, width: result.width, height: result.height, channels: 4 };
}
