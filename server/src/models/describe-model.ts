/**
 * Describes a model folder without loading weights: configs plus each part's ONNX interface (read
 * from the protobuf), checked against what the family needs. The registry lists models with it and
 * the adapter loads from it, so a folder that lists fine also loads, and one that cannot load says
 * why before any session is created.
 */
import { join } from 'node:path';
import { PixelsError } from '@pixels/shared';
import type { ModelInfo } from '../engine/model.ts';
import { createScheduler } from '../engine/schedulers/create-scheduler.ts';
import { externalDataProblems } from '../onnx/reader/external-data-problems.ts';
import { type OnnxMetadata, readOnnxMetadata } from '../onnx/reader/read-onnx-metadata.ts';
import { configNumber, detectFamily, type FamilyTraits, fixedDim, inputNamed, timeIdCount } from './detect-family.ts';
import { FAMILY_DEFAULTS } from './family-defaults.ts';
import { latentRgbProjection } from './latent-rgb-factors.ts';
import { type ModelFolder, type PartName, readModelFolder } from './model-folder.ts';
import { checkPartInterfaces } from './part-interfaces.ts';

export interface ModelDescription {
  folder: ModelFolder;
  info: ModelInfo;
  traits: FamilyTraits;
  /** Each present part's interface. */
  metadata: Partial<Record<PartName, OnnxMetadata>>;
  /** The VAE's latent scaling factor. */
  scalingFactor: number;
  /** SDXL time ids per row (5 or 6), 0 for other families. */
  timeIdCount: number;
  /** Width of the LCM guidance embedding `timestep_cond`, 0 when the UNet has none. */
  guidanceEmbeddingSize: number;
  /** SDXL: an empty negative prompt gives zero embeddings (model_index.json `force_zeros_for_empty_prompt`, default true). */
  zeroEmptyNegative: boolean;
  /** SDXL refiner: time ids carry an aesthetic score (model_index.json `requires_aesthetics_score`). */
  aestheticScores: boolean;
  recommendedSteps: number;
}

function missingPart(folder: ModelFolder, part: PartName, purpose: string): PixelsError {
  return new PixelsError(
    'model_error',
    `${join(folder.dir, part)}: the model has no ${part}/model.onnx, which PIXELS needs to ${purpose}. ` +
      `Download the complete ONNX export, or take the part from another model folder with ${join(folder.dir, 'pixels-model.json')} (see server/MODELS.md).`,
  );
}

/** The parts a conditioning kind reads, and why. */
const TEXT_PARTS = {
  clip: ['text_encoder'],
  sdxl: ['text_encoder', 'text_encoder_2'],
  'sdxl-refiner': ['text_encoder_2'],
  none: [],
} as const;

/** 2^(levels-1) for a config's block_out_channels, undefined when absent. */
function downsampling(config: Record<string, unknown> | undefined): number | undefined {
  const blocks = config?.block_out_channels;
  return Array.isArray(blocks) && blocks.length > 0 ? 2 ** (blocks.length - 1) : undefined;
}

/**
 * Describes the model in `dir` (name as the user called it); `checkWeights` (default true) also
 * checks that each external weights file is there and long enough (off while a pull is under way).
 * @throws PixelsError('model_error') naming the file and the fix for any problem found
 */
export async function describeModel(
  dir: string,
  name: string,
  options: { checkWeights: boolean } = { checkWeights: true },
): Promise<ModelDescription> {
  const folder = await readModelFolder(dir, name);
  const schedulerFile = join(dir, 'scheduler', 'scheduler_config.json');
  try {
    createScheduler(folder.schedulerConfig);
  } catch (error) {
    if (!(error instanceof PixelsError)) throw error;
    throw new PixelsError('model_error', `${schedulerFile}: ${error.message}`);
  }
  if (!folder.parts.unet) throw missingPart(folder, 'unet', 'denoise');
  if (!folder.parts.vae_decoder) throw missingPart(folder, 'vae_decoder', 'turn latents back into an image');
  if (!folder.parts.vae_encoder) throw missingPart(folder, 'vae_encoder', 'encode the source and exemplar images');
  const metadata: ModelDescription['metadata'] = {};
  for (const [part, source] of Object.entries(folder.parts)) {
    const partMetadata = await readOnnxMetadata(source.file);
    const [problem] = options.checkWeights ? await externalDataProblems(partMetadata) : [];
    if (problem) throw new PixelsError('model_error', problem);
    metadata[part as PartName] = partMetadata;
  }
  const unet = metadata.unet!;
  const evidence = { folder, unet, textEncoder: metadata.text_encoder, textEncoder2: metadata.text_encoder_2 };
  const traits = detectFamily(evidence);
  for (const part of TEXT_PARTS[traits.conditioning]) {
    if (!folder.parts[part]) throw missingPart(folder, part, `encode prompts for ${traits.family}`);
    const tokenizer = part === 'text_encoder' ? 'tokenizer' : 'tokenizer_2';
    if (!folder.tokenizers[tokenizer]) {
      throw new PixelsError(
        'model_error',
        `${join(dir, tokenizer)}: missing; ${part} needs its tokenizer (vocab.json and merges.txt, or tokenizer.json). Download it from the model's Hub repository.`,
      );
    }
  }
  const defaults = FAMILY_DEFAULTS[traits.family];
  const isSdxlShaped = traits.conditioning === 'sdxl' || traits.conditioning === 'sdxl-refiner';
  const vaeConfig = { ...folder.parts.vae_encoder?.config, ...folder.parts.vae_decoder?.config };
  const vaeScaleFactor = downsampling(vaeConfig) ?? 8;
  const unetConfig = folder.parts.unet.config;
  const unetDownsampling = downsampling(unetConfig) ?? (traits.family === 'builtin' ? 1 : 8);
  const sample = inputNamed(unet, 'sample');
  const latentChannels =
    configNumber(unetConfig, 'in_channels') ?? fixedDim(sample, 1) ?? configNumber(vaeConfig, 'latent_channels') ?? 4;
  const fixedSide = fixedDim(sample, 2);
  const configSide = configNumber(unetConfig, 'sample_size');
  const nativeSize =
    configSide !== undefined
      ? configSide * vaeScaleFactor
      : fixedSide !== undefined
        ? fixedSide * vaeScaleFactor
        : (configNumber(vaeConfig, 'sample_size') ??
          (isSdxlShaped && traits.family === 'lcm' ? 1024 : defaults.nativeSize));
  const scalingFactor =
    configNumber(vaeConfig, 'scaling_factor') ??
    (isSdxlShaped ? FAMILY_DEFAULTS.sdxl.scalingFactor : defaults.scalingFactor);
  const guidanceEmbeddingSize =
    fixedDim(inputNamed(unet, 'timestep_cond'), 1) ?? configNumber(unetConfig, 'time_cond_proj_dim') ?? 0;
  const hasTimestepCond = inputNamed(unet, 'timestep_cond') !== undefined;
  // An LCM whose UNet has no timestep_cond (LCM-LoRA fused into a base model) uses ordinary guidance.
  const guidanceMode = traits.family === 'lcm' && !hasTimestepCond ? 'classifier-free' : defaults.guidanceMode;
  const description: ModelDescription = {
    folder,
    traits,
    metadata,
    scalingFactor,
    timeIdCount: isSdxlShaped ? (timeIdCount(evidence) ?? (traits.conditioning === 'sdxl-refiner' ? 5 : 6)) : 0,
    guidanceEmbeddingSize: hasTimestepCond ? guidanceEmbeddingSize || 256 : 0,
    zeroEmptyNegative: folder.index.force_zeros_for_empty_prompt !== false,
    aestheticScores: traits.conditioning === 'sdxl-refiner' || folder.index.requires_aesthetics_score === true,
    recommendedSteps: defaults.recommendedSteps,
    info: {
      name,
      family: traits.family,
      nativeSize,
      sizeMultiple: vaeScaleFactor * unetDownsampling,
      dtype: sample?.type === 'float16' ? 'float16' : 'float32',
      scheduler: String(folder.schedulerConfig._class_name ?? 'DDIMScheduler'),
      defaultGuidance: guidanceMode === 'classifier-free' && traits.family === 'lcm' ? 1.5 : defaults.guidance,
      // The built-in model ignores text even though it declares SD's text inputs.
      usesPrompt: traits.family !== 'builtin' && traits.conditioning !== 'none',
      description: folder.pairing?.description ?? describeLine(folder, traits, defaults.description),
      parts: Object.fromEntries(Object.entries(folder.parts).map(([part, source]) => [part, source.shown])),
      latentChannels,
      vaeScaleFactor,
      schedulerConfig: folder.schedulerConfig,
      guidanceMode,
      latentPreview: latentRgbProjection({
        isPixelSpace: traits.family === 'builtin' && vaeScaleFactor === 1,
        isSdxlLatent: isSdxlShaped,
        latentChannels,
        scalingFactor,
      }),
    },
  };
  checkPartInterfaces(description);
  return description;
}

function describeLine(folder: ModelFolder, traits: FamilyTraits, familyLine: string): string {
  if (traits.family === 'builtin') return familyLine;
  const paired = Object.values(folder.parts).some((part) => part.paired) ? ', parts paired by pixels-model.json' : '';
  const layout = folder.layout === 'legacy' ? 'legacy diffusers ONNX export' : 'ONNX';
  return `${familyLine} (${layout}; detected from ${traits.evidence}${paired})`;
}
