import type { ModelFamily } from '@pixels/shared';
import type { ModelInfo } from '../engine/model.ts';

export interface FamilyDefaults {
  /** Guidance scale when a request gives none (diffusers' pipeline defaults; the refiner's is the official PIXELS script's). */
  guidance: number;
  guidanceMode: ModelInfo['guidanceMode'];
  /** Steps at strength 1 that suit the model (few-step models: 1 to 8). */
  recommendedSteps: number;
  /** Native size when no config or fixed input shape says. */
  nativeSize: number;
  /** VAE scaling factor when the VAE config does not say. */
  scalingFactor: number;
  /** One line for `pixels models`. */
  description: string;
}

const SD_SCALING = 0.18215;
const SDXL_SCALING = 0.13025;

/** Per-family facts, used where a model's own configs are silent. */
export const FAMILY_DEFAULTS: Readonly<Record<ModelFamily, FamilyDefaults>> = Object.freeze({
  builtin: {
    guidance: 1,
    guidanceMode: 'none',
    recommendedSteps: 30,
    nativeSize: 128,
    scalingFactor: 1,
    description:
      'Built-in preview model: an analytic patch-prior denoiser conditioned on your own images (no learned weights; prompts have no effect).',
  },
  sd1: {
    guidance: 7.5,
    guidanceMode: 'classifier-free',
    recommendedSteps: 50,
    nativeSize: 512,
    scalingFactor: SD_SCALING,
    description: 'Stable Diffusion 1.x',
  },
  sd2: {
    guidance: 7.5,
    guidanceMode: 'classifier-free',
    recommendedSteps: 50,
    nativeSize: 768,
    scalingFactor: SD_SCALING,
    description: 'Stable Diffusion 2.x',
  },
  sdxl: {
    guidance: 5,
    guidanceMode: 'classifier-free',
    recommendedSteps: 50,
    nativeSize: 1024,
    scalingFactor: SDXL_SCALING,
    description: 'Stable Diffusion XL base',
  },
  'sdxl-refiner': {
    // The official PIXELS SDXL script runs the refiner at guidance 17.5, 100 steps from 0.6.
    guidance: 17.5,
    guidanceMode: 'classifier-free',
    recommendedSteps: 100,
    nativeSize: 1024,
    scalingFactor: SDXL_SCALING,
    description: 'Stable Diffusion XL refiner (aesthetic-score conditioning)',
  },
  'sd-turbo': {
    guidance: 0,
    guidanceMode: 'none',
    recommendedSteps: 4,
    nativeSize: 512,
    scalingFactor: SD_SCALING,
    description: 'SD-Turbo (few steps, no guidance)',
  },
  'sdxl-turbo': {
    guidance: 0,
    guidanceMode: 'none',
    recommendedSteps: 4,
    nativeSize: 512,
    scalingFactor: SDXL_SCALING,
    description: 'SDXL-Turbo (few steps, no guidance)',
  },
  lcm: {
    // diffusers' LatentConsistencyModelPipeline default; the scale is fed to the UNet, not mixed.
    guidance: 8.5,
    guidanceMode: 'embedded',
    recommendedSteps: 4,
    nativeSize: 512,
    scalingFactor: SD_SCALING,
    description: 'Latent Consistency Model (few steps, embedded guidance)',
  },
});
