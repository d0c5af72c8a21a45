/**
 * The tiny models the generator writes: one per family and per exporter layout, each with the real
 * input and output names, shapes, dtypes, configs and file names of its full-size counterpart, at
 * 64x64 pixels (8x8 latents).
 */

import type { SchedulerConfig } from '@pixels/server/engine/scheduler.ts';
import type { ModelFamily } from '@pixels/shared';
import type { FloatType } from './graph-helpers.ts';
import type { TimestepForm } from './tiny-unet.ts';

export interface TinyTextEncoderSpec {
  folder: 'text_encoder' | 'text_encoder_2';
  tokenizerFolder: 'tokenizer' | 'tokenizer_2';
  hiddenSize: number;
  pooledOutput: 'pooler_output' | 'text_embeds';
  padToken: string;
}

export interface TinyModelSpec {
  /** What the folder should be detected as. */
  family: ModelFamily;
  /** optimum: configs for every part, `model.onnx_data`; legacy: the old diffusers script (`weights.pb`, no part configs); olive: fp16 I/O, int32 ids. */
  layout: 'optimum' | 'legacy' | 'olive';
  description: string;
  textEncoders: TinyTextEncoderSpec[];
  unet: {
    hiddenSize: number;
    timestep: TimestepForm;
    /** SDXL: pooled width, time ids per row, and the embedding width per time id (config `addition_time_embed_dim`, default 256). */
    sdxl?: { textEmbedsSize: number; timeIds: 5 | 6; timeEmbedWidth?: number };
    timestepCondSize?: number;
  };
  scheduler: SchedulerConfig;
  vae: { scalingFactor: number; encoderOutput: 'latent_parameters' | 'latent_sample'; forceUpcast: boolean };
  floatType: FloatType;
  idsType: 'int64' | 'int32';
  /** The UNet's external data file name. */
  externalData: string;
  modelIndex: Record<string, unknown>;
}

const SD_BETAS = {
  beta_start: 0.00085,
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  num_train_timesteps: 1000,
} as const;
const PNDM: SchedulerConfig = {
  _class_name: 'PNDMScheduler',
  ...SD_BETAS,
  set_alpha_to_one: false,
  skip_prk_steps: true,
  steps_offset: 1,
  trained_betas: null,
  clip_sample: false,
};
const EULER_SDXL: SchedulerConfig = {
  _class_name: 'EulerDiscreteScheduler',
  ...SD_BETAS,
  interpolation_type: 'linear',
  prediction_type: 'epsilon',
  steps_offset: 1,
  timestep_spacing: 'leading',
  use_karras_sigmas: false,
  trained_betas: null,
};
const CLIP_L: TinyTextEncoderSpec = {
  folder: 'text_encoder',
  tokenizerFolder: 'tokenizer',
  hiddenSize: 768,
  pooledOutput: 'pooler_output',
  padToken: '<|endoftext|>',
};
const OPEN_CLIP_H: TinyTextEncoderSpec = { ...CLIP_L, hiddenSize: 1024, padToken: '!' };
const OPEN_CLIP_BIG_G: TinyTextEncoderSpec = {
  folder: 'text_encoder_2',
  tokenizerFolder: 'tokenizer_2',
  hiddenSize: 1280,
  pooledOutput: 'text_embeds',
  padToken: '!',
};
const SD_VAE = { scalingFactor: 0.18215, encoderOutput: 'latent_parameters', forceUpcast: false } as const;
const SDXL_VAE = { scalingFactor: 0.13025, encoderOutput: 'latent_parameters', forceUpcast: true } as const;
const OPTIMUM_SD = {
  _class_name: 'ORTStableDiffusionPipeline',
  _diffusers_version: '0.30.0',
  requires_safety_checker: false,
};
const OPTIMUM_SDXL = {
  _class_name: 'ORTStableDiffusionXLPipeline',
  _diffusers_version: '0.30.0',
  force_zeros_for_empty_prompt: true,
};
const SD1_UNET = { hiddenSize: 768, timestep: 'int64-batch' } as const;
/** The widths of diffusers' own tiny test pipelines (hf-internal-testing/tiny-stable-diffusion-pipe, tiny SDXL): 32-d text encoders. */
const NARROW_WIDTH = 32;

export const TINY_MODEL_SPECS: Readonly<Record<string, TinyModelSpec>> = Object.freeze({
  sd1: {
    family: 'sd1',
    layout: 'optimum',
    description: 'SD 1.5 as Optimum exports it: int64 timestep [B], int64 ids, PNDM',
    textEncoders: [CLIP_L],
    unet: SD1_UNET,
    scheduler: PNDM,
    vae: SD_VAE,
    floatType: 'float32',
    idsType: 'int64',
    externalData: 'model.onnx_data',
    modelIndex: OPTIMUM_SD,
  },
  'sd1-legacy': {
    family: 'sd1',
    layout: 'legacy',
    description: 'SD 1.5 from the old diffusers ONNX script: weights.pb, int32 ids, latent_sample, no part configs',
    textEncoders: [CLIP_L],
    unet: { hiddenSize: 768, timestep: 'float32-batch' },
    scheduler: PNDM,
    vae: { ...SD_VAE, encoderOutput: 'latent_sample' },
    floatType: 'float32',
    idsType: 'int32',
    externalData: 'weights.pb',
    modelIndex: { _class_name: 'OnnxStableDiffusionPipeline', _diffusers_version: '0.6.0' },
  },
  'sd1-olive': {
    family: 'sd1',
    layout: 'olive',
    description: 'SD 1.5 as Olive optimizes it: fp16 I/O, float16 timestep, int32 ids, model.onnx.data',
    textEncoders: [CLIP_L],
    unet: { hiddenSize: 768, timestep: 'float16-batch' },
    scheduler: PNDM,
    vae: SD_VAE,
    floatType: 'float16',
    idsType: 'int32',
    externalData: 'model.onnx.data',
    modelIndex: OPTIMUM_SD,
  },
  sd2: {
    family: 'sd2',
    layout: 'optimum',
    description: 'SD 2.1-768: 1024-d text, v-prediction, DDIM, scalar float timestep (Optimum ≥ 1.24)',
    textEncoders: [OPEN_CLIP_H],
    unet: { hiddenSize: 1024, timestep: 'float32-scalar' },
    scheduler: { ...PNDM, _class_name: 'DDIMScheduler', prediction_type: 'v_prediction', skip_prk_steps: undefined },
    vae: SD_VAE,
    floatType: 'float32',
    idsType: 'int64',
    externalData: 'model.onnx_data',
    modelIndex: OPTIMUM_SD,
  },
  'sd-turbo': {
    family: 'sd-turbo',
    layout: 'optimum',
    description: 'SD-Turbo: SD 2.1 shape, Euler with trailing spacing, no guidance',
    textEncoders: [OPEN_CLIP_H],
    unet: { hiddenSize: 1024, timestep: 'float32-batch' },
    scheduler: { ...EULER_SDXL, timestep_spacing: 'trailing' },
    vae: SD_VAE,
    floatType: 'float32',
    idsType: 'int64',
    externalData: 'model.onnx_data',
    modelIndex: OPTIMUM_SD,
  },
  sdxl: {
    family: 'sdxl',
    layout: 'optimum',
    description: 'SDXL base: two text encoders, text_embeds, 6 time ids, Euler',
    textEncoders: [CLIP_L, OPEN_CLIP_BIG_G],
    unet: { hiddenSize: 2048, timestep: 'float32-batch', sdxl: { textEmbedsSize: 1280, timeIds: 6 } },
    scheduler: EULER_SDXL,
    vae: SDXL_VAE,
    floatType: 'float32',
    idsType: 'int64',
    externalData: 'model.onnx_data',
    modelIndex: OPTIMUM_SDXL,
  },
  'sdxl-refiner': {
    family: 'sdxl-refiner',
    layout: 'optimum',
    description: 'SDXL refiner: second text encoder only, 5 time ids with aesthetic scores',
    textEncoders: [OPEN_CLIP_BIG_G],
    unet: { hiddenSize: 1280, timestep: 'float32-batch', sdxl: { textEmbedsSize: 1280, timeIds: 5 } },
    scheduler: EULER_SDXL,
    vae: SDXL_VAE,
    floatType: 'float32',
    idsType: 'int64',
    externalData: 'model.onnx_data',
    modelIndex: {
      _class_name: 'ORTStableDiffusionXLImg2ImgPipeline',
      _diffusers_version: '0.30.0',
      requires_aesthetics_score: true,
      force_zeros_for_empty_prompt: false,
    },
  },
  'sdxl-turbo': {
    family: 'sdxl-turbo',
    layout: 'optimum',
    description: 'SDXL-Turbo: SDXL shape, Euler ancestral with trailing spacing, no guidance',
    textEncoders: [CLIP_L, OPEN_CLIP_BIG_G],
    unet: { hiddenSize: 2048, timestep: 'float32-batch', sdxl: { textEmbedsSize: 1280, timeIds: 6 } },
    scheduler: { ...EULER_SDXL, _class_name: 'EulerAncestralDiscreteScheduler', timestep_spacing: 'trailing' },
    vae: SDXL_VAE,
    floatType: 'float32',
    idsType: 'int64',
    externalData: 'model.onnx_data',
    modelIndex: OPTIMUM_SDXL,
  },
  lcm: {
    family: 'lcm',
    layout: 'optimum',
    description: 'LCM (SD 1.5 distilled): timestep_cond guidance embedding, LCM scheduler',
    textEncoders: [CLIP_L],
    unet: { ...SD1_UNET, timestepCondSize: 256 },
    scheduler: {
      _class_name: 'LCMScheduler',
      ...SD_BETAS,
      original_inference_steps: 50,
      timestep_scaling: 10,
      set_alpha_to_one: true,
      clip_sample: false,
      prediction_type: 'epsilon',
      steps_offset: 1,
      timestep_spacing: 'leading',
    },
    vae: SD_VAE,
    floatType: 'float32',
    idsType: 'int64',
    externalData: 'model.onnx_data',
    modelIndex: { ...OPTIMUM_SD, _class_name: 'ORTLatentConsistencyModelPipeline' },
  },
  'sd1-narrow': {
    family: 'sd1',
    layout: 'optimum',
    description:
      "SD 1.x laid out as diffusers exports it, at the widths of diffusers' own test models: the UNet attends to 32-d text embeddings",
    textEncoders: [{ ...CLIP_L, hiddenSize: NARROW_WIDTH }],
    unet: { ...SD1_UNET, hiddenSize: NARROW_WIDTH },
    scheduler: PNDM,
    vae: SD_VAE,
    floatType: 'float32',
    idsType: 'int64',
    externalData: 'model.onnx_data',
    modelIndex: { ...OPTIMUM_SD, _class_name: 'StableDiffusionPipeline' },
  },
  'sdxl-narrow': {
    family: 'sdxl',
    layout: 'optimum',
    description:
      "SDXL at the widths of diffusers' tiny SDXL test model: two 32-d encoders (64-d cross attention), 32-d pooled, 8-d time embeddings",
    textEncoders: [
      { ...CLIP_L, hiddenSize: NARROW_WIDTH },
      { ...OPEN_CLIP_BIG_G, hiddenSize: NARROW_WIDTH },
    ],
    unet: {
      hiddenSize: 2 * NARROW_WIDTH,
      timestep: 'float32-batch',
      sdxl: { textEmbedsSize: NARROW_WIDTH, timeIds: 6, timeEmbedWidth: 8 },
    },
    scheduler: EULER_SDXL,
    vae: SDXL_VAE,
    floatType: 'float32',
    idsType: 'int64',
    externalData: 'model.onnx_data',
    modelIndex: { ...OPTIMUM_SDXL, _class_name: 'StableDiffusionXLPipeline' },
  },
});

export type TinyModelName = keyof typeof TINY_MODEL_SPECS;
