/**
 * Reads a model folder as diffusers does: the pipeline class (`model_index.json` `_class_name`) and
 * each part's own config and tensor shapes decide how prompts become UNet inputs (one encoder's
 * hidden states, or SDXL's two plus pooled embeddings and time ids), at whatever width the parts
 * agree on. The family (sd1, sdxl, ...) is only a label for listings and defaults, read from the
 * usual widths and the scheduler config; `pixels-model.json` may set it. Only parts that contradict
 * each other (or the pipeline class) are refused, and the message names both.
 */
import { type ModelFamily, PixelsError } from '@pixels/shared';
import type { GraphValueInfo, OnnxMetadata } from '../onnx/reader/read-onnx-metadata.ts';
import type { ModelFolder, PartName } from './model-folder.ts';

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

/** A width and the place it was read, e.g. `unet/config.json cross_attention_dim`. */
interface Reading {
  width: number;
  source: string;
}

/** SDXL's pooled width when nothing in the folder says (OpenCLIP bigG). */
const DEFAULT_POOLED_WIDTH = 1280;
/** diffusers' `addition_time_embed_dim` default for SDXL. */
const DEFAULT_TIME_EMBED_WIDTH = 256;

/** Where a part's files are shown: `unet/model.onnx`, `unet/config.json`. */
function partFile(folder: ModelFolder, part: PartName): string {
  return folder.parts[part]?.shown.replaceAll('\\', '/') ?? `${part}/model.onnx`;
}

function partConfigFile(folder: ModelFolder, part: PartName): string {
  return partFile(folder, part).replace(/[^/]+$/, 'config.json');
}

/** The two readings must agree; otherwise the parts (or a part and its config) come from different models. */
function agree(folder: ModelFolder, what: string, a: Reading | undefined, b: Reading | undefined): Reading | undefined {
  if (a && b && a.width !== b.width) {
    throw new PixelsError(
      'model_error',
      `${folder.dir}: the parts disagree about ${what}: ${a.source} says ${a.width}, but ${b.source} says ${b.width}. ` +
        'They come from different models: take both from the same export, or pair parts that match in pixels-model.json (see server/MODELS.md).',
    );
  }
  return a ?? b;
}

function configReading(folder: ModelFolder, part: PartName, key: string): Reading | undefined {
  const width = configNumber(folder.parts[part]?.config, key);
  return width === undefined ? undefined : { width, source: `${partConfigFile(folder, part)} ${key}` };
}

function shapeReading(
  folder: ModelFolder,
  part: PartName,
  info: GraphValueInfo | undefined,
  axis: number,
  kind: 'input' | 'output',
): Reading | undefined {
  const width = fixedDim(info, axis);
  return width === undefined ? undefined : { width, source: `${partFile(folder, part)} ${kind} ${info!.name}` };
}

/** The width of the text embeddings the UNet attends to: its config and its input must agree. */
function unetTextWidth({ folder, unet }: FamilyEvidence): Reading | undefined {
  return agree(
    folder,
    "the UNet's text width",
    configReading(folder, 'unet', 'cross_attention_dim'),
    shapeReading(folder, 'unet', inputNamed(unet, 'encoder_hidden_states'), 2, 'input'),
  );
}

/** The width of the hidden states an encoder gives the UNet: its config and its outputs must agree. */
function encoderWidth(
  folder: ModelFolder,
  part: 'text_encoder' | 'text_encoder_2',
  metadata: OnnxMetadata | undefined,
): Reading | undefined {
  if (!metadata) return undefined;
  const hidden =
    metadata.outputs.find((output) => output.name === 'last_hidden_state') ??
    metadata.outputs.find((output) => output.name.startsWith('hidden_states.'));
  return agree(
    folder,
    `${part}'s width`,
    configReading(folder, part, 'hidden_size'),
    shapeReading(folder, part, hidden, 2, 'output'),
  );
}

/** SDXL's pooled text_embeds width: the UNet's input and the second encoder's output must agree. */
function pooledWidth({ folder, unet, textEncoder2 }: FamilyEvidence): Reading | undefined {
  const encoderOutput = textEncoder2?.outputs.find((output) => output.name === 'text_embeds');
  return agree(
    folder,
    'the pooled text_embeds width',
    shapeReading(folder, 'unet', inputNamed(unet, 'text_embeds'), 1, 'input'),
    shapeReading(folder, 'text_encoder_2', encoderOutput, 1, 'output') ??
      configReading(folder, 'text_encoder_2', 'projection_dim'),
  );
}

/**
 * SDXL time ids per row: the `time_ids` input's size, else from the UNet config's embedding width
 * (projection_class_embeddings_input_dim = pooled + addition_time_embed_dim per id).
 */
export function timeIdCount(evidence: FamilyEvidence): number | undefined {
  const { folder, unet } = evidence;
  const fromInput = fixedDim(inputNamed(unet, 'time_ids'), 1);
  const config = folder.parts.unet?.config;
  const projection = configNumber(config, 'projection_class_embeddings_input_dim');
  const perId = configNumber(config, 'addition_time_embed_dim') ?? DEFAULT_TIME_EMBED_WIDTH;
  const pooled = pooledWidth(evidence)?.width ?? DEFAULT_POOLED_WIDTH;
  const fromConfig =
    projection !== undefined && Number.isInteger((projection - pooled) / perId)
      ? (projection - pooled) / perId
      : undefined;
  const reading = agree(
    folder,
    'the number of SDXL time ids',
    fromInput === undefined ? undefined : { width: fromInput, source: `${partFile(folder, 'unet')} input time_ids` },
    fromConfig === undefined
      ? undefined
      : {
          width: fromConfig,
          source: `${partConfigFile(folder, 'unet')} (projection_class_embeddings_input_dim ${projection} = ${pooled} pooled + ${perId} per id)`,
        },
  );
  if (reading) return reading.width;
  return folder.index.requires_aesthetics_score === true ? 5 : undefined;
}

type PipelineKind = 'sd' | 'sdxl' | 'unknown';

/** What `_class_name` says, across diffusers, Optimum (`ORT…`) and the legacy script (`Onnx…`). */
function pipelineKind(className: string): PipelineKind {
  if (/StableDiffusionXL/.test(className)) return 'sdxl';
  if (/StableDiffusion|LatentConsistencyModel/.test(className)) return 'sd';
  return 'unknown';
}

/** One encoder (clip) or SDXL's two with pooled embeddings and time ids: the pipeline class and the UNet's inputs must agree. */
function conditioningShape(evidence: FamilyEvidence): { isSdxl: boolean; clue: string } {
  const { folder, unet } = evidence;
  const className = typeof folder.index._class_name === 'string' ? folder.index._class_name : '';
  const pipeline = pipelineKind(className);
  const unetConfig = folder.parts.unet?.config;
  const unetTakesPooled = inputNamed(unet, 'text_embeds') !== undefined;
  const unetClue = unetTakesPooled
    ? `${partFile(folder, 'unet')} takes text_embeds`
    : unetConfig?.addition_embed_type === 'text_time'
      ? `${partConfigFile(folder, 'unet')} text_time`
      : undefined;
  if (pipeline === 'sd' && unetClue) {
    throw new PixelsError(
      'model_error',
      `${folder.dir}: model_index.json names ${className} (one text encoder), but ${unetClue} (SDXL's pooled embeddings and time ids): ` +
        'the UNet belongs to another kind of model. Take the UNet from the same export, or fix _class_name in model_index.json.',
    );
  }
  if (pipeline === 'sdxl' && !unetClue && inputNamed(unet, 'reference_sample') === undefined) {
    throw new PixelsError(
      'model_error',
      `${folder.dir}: model_index.json names ${className} (SDXL: pooled text_embeds and time ids), but ${partFile(folder, 'unet')} takes no text_embeds: ` +
        'the UNet belongs to another kind of model. Take the UNet from the same export, or fix _class_name in model_index.json.',
    );
  }
  if (pipeline !== 'unknown') return { isSdxl: pipeline === 'sdxl', clue: `model_index.json ${className}` };
  return unetClue
    ? { isSdxl: true, clue: unetTakesPooled ? 'the UNet inputs text_embeds and time_ids' : unetClue }
    : { isSdxl: false, clue: 'a UNet without pooled text inputs' };
}

/** The refiner reads the second encoder alone and 5 time ids with an aesthetic score. */
function isRefiner(evidence: FamilyEvidence, timeIds: number | undefined): boolean {
  const { folder } = evidence;
  if (timeIds !== undefined) return timeIds === 5;
  if (folder.index.requires_aesthetics_score === true) return true;
  return folder.parts.text_encoder === undefined && folder.parts.text_encoder_2 !== undefined;
}

/** The width the UNet attends to must be what the encoders give it (SDXL: both side by side). */
function checkTextWidths(evidence: FamilyEvidence, conditioning: TextConditioningKind): Reading | undefined {
  const { folder, textEncoder, textEncoder2 } = evidence;
  const unetWidth = unetTextWidth(evidence);
  const first = encoderWidth(folder, 'text_encoder', textEncoder);
  const second = encoderWidth(folder, 'text_encoder_2', textEncoder2);
  let given: Reading | undefined;
  if (conditioning === 'clip') given = first;
  else if (conditioning === 'sdxl-refiner') given = second;
  else if (conditioning === 'sdxl' && first && second)
    given = { width: first.width + second.width, source: `${first.source} + ${second.source}` };
  agree(folder, 'the width of the text embeddings', unetWidth, given);
  return unetWidth ?? given;
}

/** The usual label for a structure and width; unusual widths keep the structure's base label. */
function baseFamily(
  conditioning: TextConditioningKind,
  width: number | undefined,
): 'sd1' | 'sd2' | 'sdxl' | 'sdxl-refiner' {
  if (conditioning === 'sdxl') return 'sdxl';
  if (conditioning === 'sdxl-refiner') return 'sdxl-refiner';
  return width === 1024 ? 'sd2' : 'sd1';
}

/**
 * Reads how the model conditions on text, and labels its family.
 * @throws PixelsError('model_error') naming both parts when two parts (or a part and the pipeline class) contradict each other
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
  const shape = conditioningShape(evidence);
  const clues = [shape.clue];
  let conditioning: TextConditioningKind = 'clip';
  if (shape.isSdxl) {
    const timeIds = timeIdCount(evidence);
    conditioning = isRefiner(evidence, timeIds) ? 'sdxl-refiner' : 'sdxl';
    clues.push(`${timeIds ?? 'unknown'} time ids`);
  }
  const width = checkTextWidths(evidence, conditioning);
  if (width) clues.push(`${width.width}-d text embeddings (${width.source})`);
  const base = baseFamily(conditioning, width?.width);

  const unetConfig = folder.parts.unet?.config;
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
