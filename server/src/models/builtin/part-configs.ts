import { REFERENCE_INPUT, SOURCE_INPUT } from '../exemplar-inputs.ts';
import { BUILTIN_DESIGN } from './builtin-design.ts';

const DIFFUSERS_VERSION = '0.30.0';

/** `model_index.json`: the pipeline class and its parts, in diffusers' layout. */
export function modelIndex(): Record<string, unknown> {
  return {
    _class_name: 'PixelsBuiltinPipeline',
    _diffusers_version: DIFFUSERS_VERSION,
    pixels_builtin_version: BUILTIN_DESIGN.version,
    scheduler: ['diffusers', 'DDIMScheduler'],
    text_encoder: ['transformers', 'CLIPTextModel'],
    tokenizer: ['transformers', 'CLIPTokenizer'],
    unet: ['diffusers', 'UNet2DConditionModel'],
    vae_decoder: ['diffusers', 'AutoencoderKL'],
    vae_encoder: ['diffusers', 'AutoencoderKL'],
  };
}

export function textEncoderConfig(vocabularySize: number): Record<string, unknown> {
  return {
    architectures: ['CLIPTextModel'],
    model_type: 'clip_text_model',
    hidden_size: BUILTIN_DESIGN.hiddenSize,
    max_position_embeddings: BUILTIN_DESIGN.sequenceLength,
    num_hidden_layers: 0,
    vocab_size: vocabularySize,
    bos_token_id: vocabularySize - 2,
    eos_token_id: vocabularySize - 1,
    pad_token_id: vocabularySize - 1,
  };
}

export function unetConfig(): Record<string, unknown> {
  const { latentChannels, nativeSize, scaleFactor, hiddenSize } = BUILTIN_DESIGN;
  const { memoryBlur, fieldBlur, fieldContextBlur, bandBlur, coarseMaskBlur, commitment, sharpness } = BUILTIN_DESIGN;
  const { designStrength, dither, structureWeight } = BUILTIN_DESIGN;
  return {
    _class_name: 'UNet2DConditionModel',
    _diffusers_version: DIFFUSERS_VERSION,
    in_channels: latentChannels,
    out_channels: latentChannels,
    sample_size: nativeSize / scaleFactor,
    cross_attention_dim: hiddenSize,
    pixels_denoiser: {
      kind: 'source/exemplar switch prior, two bands, dithered',
      reference_input: REFERENCE_INPUT,
      source_input: SOURCE_INPUT,
      memory_blur: memoryBlur,
      field_blur: fieldBlur,
      field_context_blur: fieldContextBlur,
      dither: { size: dither.size, fine_blur: dither.fineBlur, coarse_blur: dither.coarseBlur, seed: dither.seed },
      structure_weight: structureWeight,
      band_blur: bandBlur,
      coarse_mask_blur: coarseMaskBlur,
      commitment,
      sharpness,
      design_strength: designStrength,
    },
  };
}

/** Both VAE halves share one config, as diffusers' AutoencoderKL does. */
export function vaeConfig(): Record<string, unknown> {
  const { latentChannels, nativeSize, scaleFactor, scalingFactor } = BUILTIN_DESIGN;
  return {
    _class_name: 'AutoencoderKL',
    _diffusers_version: DIFFUSERS_VERSION,
    in_channels: 3,
    out_channels: 3,
    latent_channels: latentChannels,
    // Only the length matters to readers: the VAE scale factor is 2^(length − 1).
    block_out_channels: new Array(Math.log2(scaleFactor) + 1).fill(latentChannels),
    scaling_factor: scalingFactor,
    sample_size: nativeSize,
    pixels_latent_space: scaleFactor === 1 ? 'pixels' : `space-to-depth ${scaleFactor}x${scaleFactor}`,
  };
}
