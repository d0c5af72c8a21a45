import type { Tensor } from './tensor.ts';

/**
 * A linear map from latent channels to RGB: rgb = Σ_c latent_c · factors[c] + bias, in the image
 * range [-1, 1]. Cheap enough to run every step, where a VAE decode costs about a UNet call.
 */
export interface LatentRgbProjection {
  /** One [r, g, b] row per latent channel. */
  readonly factors: readonly (readonly [number, number, number])[];
  readonly bias: readonly [number, number, number];
}

/** Scaled latent [1, C, h, w] → image tensor [1, 3, h, w] (unclamped), at the latent's own resolution. */
export function projectLatentToRgb(latent: Tensor, projection: LatentRgbProjection): Tensor {
  const [, channels, height, width] = latent.shape;
  if (channels !== projection.factors.length) {
    throw new Error(
      `projectLatentToRgb: a ${channels}-channel latent for a ${projection.factors.length}-row projection`,
    );
  }
  const plane = height * width;
  const data = new Float32Array(3 * plane);
  for (let rgb = 0; rgb < 3; rgb++) {
    const out = data.subarray(rgb * plane, (rgb + 1) * plane);
    out.fill(projection.bias[rgb]);
    for (let c = 0; c < channels; c++) {
      const weight = projection.factors[c][rgb];
      if (weight === 0) continue;
      const cell = latent.data.subarray(c * plane, (c + 1) * plane);
      for (let i = 0; i < plane; i++) out[i] += weight * cell[i];
    }
  }
  return { data, shape: [1, 3, height, width] };
}
