/**
 * The per-family latent → RGB projections for step previews, in one table.
 *
 * Source: ComfyUI, comfy/latent_formats.py (classes SD15 and SDXL, `latent_rgb_factors` and
 * `latent_rgb_factors_bias`), applied as its latent_preview.py Latent2RGBPreviewer does: to the
 * scaled latent (x0 after `process_in`, i.e. times the VAE scaling factor), giving RGB in [-1, 1].
 * SD 2.x, SD-Turbo and SD 1.x-based LCMs share SD 1.x's VAE (ComfyUI's SD20 uses the SD15 format);
 * the SDXL refiner, SDXL-Turbo and SDXL-based LCMs share SDXL's. ComfyUI publishes no bias for SD 1.x.
 */
import type { LatentRgbProjection } from '../engine/latent-preview.ts';

const SD = Object.freeze<LatentRgbProjection>({
  factors: [
    [0.3512, 0.2297, 0.3227],
    [0.325, 0.4974, 0.235],
    [-0.2829, 0.1762, 0.2721],
    [-0.212, -0.2616, -0.7177],
  ],
  bias: [0, 0, 0],
});

const SDXL = Object.freeze<LatentRgbProjection>({
  factors: [
    [0.3651, 0.4232, 0.4341],
    [-0.2533, -0.0042, 0.1068],
    [0.1076, 0.1111, -0.0362],
    [-0.3165, -0.2492, -0.2188],
  ],
  bias: [0.1084, -0.0175, -0.0011],
});

export const LATENT_RGB_FACTORS = Object.freeze({ sd: SD, sdxl: SDXL });

export interface LatentTraits {
  /** The built-in model's latent is the image itself times its scaling factor. */
  isPixelSpace: boolean;
  /** The VAE is SDXL's (SDXL base, refiner, Turbo, SDXL-based LCM). */
  isSdxlLatent: boolean;
  latentChannels: number;
  scalingFactor: number;
}

/**
 * The projection for a model's latent, or undefined when no published table fits it (previews then
 * fall back to the VAE decoder).
 */
export function latentRgbProjection(traits: LatentTraits): LatentRgbProjection | undefined {
  if (traits.isPixelSpace) {
    if (traits.latentChannels !== 3) return undefined;
    const inverse = 1 / traits.scalingFactor;
    return {
      factors: [
        [inverse, 0, 0],
        [0, inverse, 0],
        [0, 0, inverse],
      ],
      bias: [0, 0, 0],
    };
  }
  if (traits.latentChannels !== 4) return undefined;
  return traits.isSdxlLatent ? LATENT_RGB_FACTORS.sdxl : LATENT_RGB_FACTORS.sd;
}
