/**
 * Tells the model families apart, from `unet/config.json` when the export has one (cross_attention_dim
 * 768 / 1024 / 2048 / 1280, `addition_embed_type: text_time`, `time_cond_proj_dim`) and from the
 * UNet's and text encoders' input metadata when it does not; the scheduler config separates the
 * Turbo models (trailing spacing) and LCM. `pixels-model.json` may override the answer.
 */
import { type ModelFamily, PixelsError } from '@pixels/shared';
import type { ModelFolder } from './model-folder.ts';
import type { GraphValueInfo, OnnxMetadata } from './onnx-file/read-onnx-metadata.ts';

/** How prompts become UNet inputs. */
export type TextConditioningKind =
  /** One CLIP encoder's last hidden state (SD 1.x, 2.x, their Turbo and LCM variants). */
  | 'clip'
  /** Both encoders' penultimate hidden states, pooled text_embeds, 6 time ids (SDXL base, Turbo, LCM-SDXL). */
  | 'sdxl'
  /** The second encoder only, 5 time ids with an aesthetic score (SDXL refiner). */
  | 'sdxl-refiner'
  /** No text encoder: zero embeddings (the built-in model). */
  | 'none';

export interface FamilyTraits {
  family: ModelFamily;
  conditioning: TextConditioningKind;
  /** Why we think so, for `pixels models` and error messages. */
  evidence: string;
}

/** Fields of a part's config or of model_index.json. */
export function configNumber(config: Record<string, unknown> | undefined, key: string): number | undefined {
  const value = config?.[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

export function inputNamed(metadata: OnnxMetadata | undefined, name: string): GraphValueInfo | undefined {
  return metadata?.inputs.find((input) => input.name === name);
}

/** The fixed size of one axis of an input, undefined when symbolic. */
export function fixedDim(info: GraphValueInfo | undefined, axis: number): number | undefined {
  const dim = info?.shape.at(axis);
  return typeof dim === 'number' && dim > 0 ? dim : undefined;
}

export interface FamilyEvidence {
  folder: ModelFolder;
  unet: OnnxMetadata;
  textEncoder?: OnnxMetadata;
  textEncoder2?: OnnxMetadata;
}

/** The width of the text embeddings the UNet attends to, and where it was read: config, UNet metadata, or the text encoders' outputs. */
function crossAttentionWidth({ folder, unet, textEncoder, textEncoder2 }: FamilyEvidence): {
  width?: number;
  source: string;
} {
  const fromConfig = configNumber(folder.parts.unet?.config, 'cross_attention_dim');
  if (fromConfig !== undefined) return { width: fromConfig, source: 'unet/config.json cross_attention_dim' };
  const fromUnet = fixedDim(inputNamed(unet, 'encoder_hidden_states'), 2);
  if (fromUnet !== undefined) return { width: fromUnet, source: 'the UNet input encoder_hidden_states' };
  const encoderWidth = (encoder: OnnxMetadata | undefined) =>
    fixedDim(
      encoder?.outputs.find((output) => output.name === 'last_hidden_state'),
      2,
    );
  const first = encoderWidth(textEncoder);
  const second = encoderWidth(textEncoder2);
  const width = first !== undefined && second !== undefined ? first + second : (first ?? second);
  return { width, source: "the text encoders' outputs" };
}

/** SDXL time ids per row: the input's size, else from the config's embedding width (pooled 1280 + 256 per id). */
export function timeIdCount({ folder, unet }: FamilyEvidence): number | undefined {
  const fromInput = fixedDim(inputNamed(unet, 'time_ids'), 1);
  if (fromInput !== undefined) return fromInput;
  const config = folder.parts.unet?.config;
  const projection = configNumber(config, 'projection_class_embeddings_input_dim');
  const perId = configNumber(config, 'addition_time_embed_dim') ?? 256;
  if (projection !== undefined) return (projection - 1280) / perId;
  return folder.index.requires_aesthetics_score === true ? 5 : undefined;
}

/**
 * Detects the family and conditioning of a model.
 * @throws PixelsError('model_error') when the UNet's text width matches no known family
 */
export function detectFamily(evidence: FamilyEvidence): FamilyTraits {
  const { folder, unet } = evidence;
  const override = folder.pairing?.family;
  if (inputNamed(unet, 'reference_sample')) {
    return {
      family: 'builtin',
      conditioning: evidence.textEncoder ? 'clip' : 'none',
      evidence: 'the UNet takes reference_sample',
    };
  }
  const unetConfig = folder.parts.unet?.config;
  const isSdxlShaped = unetConfig?.addition_embed_type === 'text_time' || inputNamed(unet, 'text_embeds') !== undefined;
  const { width, source } = crossAttentionWidth(evidence);
  const clues: string[] = [];
  let conditioning: TextConditioningKind;
  let base: 'sd1' | 'sd2' | 'sdxl' | 'sdxl-refiner';
  if (isSdxlShaped) {
    const timeIds = timeIdCount(evidence);
    const isRefiner = timeIds === 5 || width === 1280;
    base = isRefiner ? 'sdxl-refiner' : 'sdxl';
    conditioning = isRefiner ? 'sdxl-refiner' : 'sdxl';
    const textTime =
      unetConfig?.addition_embed_type === 'text_time'
        ? 'unet/config.json text_time'
        : 'the UNet inputs text_embeds and time_ids';
    clues.push(`${textTime} with ${timeIds ?? 'unknown'} time ids`);
  } else if (width === 768 || width === 1024) {
    base = width === 768 ? 'sd1' : 'sd2';
    conditioning = 'clip';
    clues.push(`${width}-d text embeddings (${source})`);
  } else if (override) {
    base = override === 'sd2' || override === 'sd-turbo' ? 'sd2' : 'sd1';
    conditioning = 'clip';
  } else {
    throw new PixelsError(
      'model_error',
      `${folder.parts.unet?.file}: cannot tell the model family: the UNet attends to ${width ?? 'an unknown number of'}-d text embeddings ` +
        '(SD 1.x: 768, SD 2.x: 1024, SDXL: 2048, SDXL refiner: 1280). If it is one of those, set "family" in ' +
        `${folder.dir}/pixels-model.json (see server/MODELS.md).`,
    );
  }
  const scheduler = folder.schedulerConfig;
  const isLcm =
    configNumber(unetConfig, 'time_cond_proj_dim') !== undefined ||
    inputNamed(unet, 'timestep_cond') !== undefined ||
    scheduler._class_name === 'LCMScheduler';
  const isTrailing = scheduler.timestep_spacing === 'trailing';
  let family: ModelFamily = base;
  if (isLcm) {
    family = 'lcm';
    clues.push(inputNamed(unet, 'timestep_cond') ? 'a timestep_cond input' : 'the LCM scheduler');
  } else if (isTrailing && base === 'sd2') {
    family = 'sd-turbo';
    clues.push('trailing timestep spacing');
  } else if (isTrailing && base === 'sdxl') {
    family = 'sdxl-turbo';
    clues.push('trailing timestep spacing');
  }
  if (override) return { family: override, conditioning, evidence: `set in ${folder.dir}/pixels-model.json` };
  return { family, conditioning, evidence: clues.join(', ') };
}
