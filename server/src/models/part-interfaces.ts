/**
 * What each part must take and give, checked against its ONNX interface before any session opens,
 * so an export of the wrong kind fails with the file, the offending input and the fix.
 */
import { PixelsError } from '@pixels/shared';
import type { GraphValueInfo, OnnxMetadata } from '../onnx/reader/read-onnx-metadata.ts';
import type { FamilyTraits } from './detect-family.ts';
import { REFERENCE_INPUT, SOURCE_INPUT } from './exemplar-inputs.ts';
import type { ModelFolder, PartName } from './model-folder.ts';

/** What the check reads of a model: each part's interface, the detected family and the folder's configs. */
export interface PartInterfaceFacts {
  metadata: Partial<Record<PartName, OnnxMetadata>>;
  traits: Pick<FamilyTraits, 'family' | 'conditioning'>;
  folder: Pick<ModelFolder, 'parts'>;
}

const FLOAT_TYPES = ['float32', 'float16'];
const ID_TYPES = ['int32', 'int64'];
const TIMESTEP_TYPES = ['float32', 'float16', 'int32', 'int64'];

/** Every UNet input we know how to feed, with the element types we can give it. */
const UNET_INPUTS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  sample: FLOAT_TYPES,
  timestep: TIMESTEP_TYPES,
  encoder_hidden_states: FLOAT_TYPES,
  text_embeds: FLOAT_TYPES,
  time_ids: FLOAT_TYPES,
  timestep_cond: FLOAT_TYPES,
  [REFERENCE_INPUT]: FLOAT_TYPES,
  [SOURCE_INPUT]: FLOAT_TYPES,
});

function describeValue(info: GraphValueInfo): string {
  return `'${info.name}' (${info.type} [${info.shape.join(', ')}])`;
}

function partError(metadata: OnnxMetadata, problem: string, fix: string): PixelsError {
  return new PixelsError('model_error', `${metadata.path}: ${problem}; ${fix}`);
}

function requireInputs(metadata: OnnxMetadata, names: readonly string[], what: string): void {
  for (const name of names) {
    if (!metadata.inputs.some((input) => input.name === name)) {
      const found = metadata.inputs.map((input) => input.name).join(', ') || 'none';
      throw partError(
        metadata,
        `${what} has no input '${name}' (its inputs: ${found})`,
        'is this the right part? Re-export it with optimum-cli export onnx, which uses the standard names.',
      );
    }
  }
}

function requireOutput(metadata: OnnxMetadata, names: readonly string[], what: string): void {
  if (metadata.outputs.length === 1 || names.some((name) => metadata.outputs.some((output) => output.name === name)))
    return;
  const found = metadata.outputs.map((output) => output.name).join(', ');
  throw partError(
    metadata,
    `${what} has none of the outputs ${names.join(' / ')} (its outputs: ${found})`,
    're-export it with optimum-cli export onnx.',
  );
}

function checkTypes(metadata: OnnxMetadata, allowed: Readonly<Record<string, readonly string[]>>, what: string): void {
  for (const input of metadata.inputs) {
    const types = allowed[input.name];
    if (!types) {
      throw partError(
        metadata,
        `unexpected ${what} input ${describeValue(input)}`,
        `PIXELS feeds ${Object.keys(allowed).join(', ')}. Is this a ${what} of a supported family (SD 1.x/2.x, SDXL, Turbo, LCM)?`,
      );
    }
    if (!types.includes(input.type)) {
      throw partError(
        metadata,
        `${what} input ${describeValue(input)} has an unsupported type`,
        `expected ${types.join(' or ')}.`,
      );
    }
  }
}

function checkTextEncoder(metadata: OnnxMetadata, model: PartInterfaceFacts, part: PartName): void {
  checkTypes(metadata, { input_ids: ID_TYPES }, 'text encoder');
  requireInputs(metadata, ['input_ids'], 'the text encoder');
  const { conditioning } = model.traits;
  if (conditioning === 'sdxl' || conditioning === 'sdxl-refiner') {
    if (!metadata.outputs.some((output) => output.name.startsWith('hidden_states.'))) {
      throw partError(
        metadata,
        `SDXL reads the penultimate hidden states, but ${part} has no hidden_states.N outputs`,
        'export it with optimum-cli export onnx --task stable-diffusion-xl (which adds them).',
      );
    }
    if (part === 'text_encoder_2')
      requireOutput(metadata, ['text_embeds'], 'the second text encoder (pooled text_embeds)');
  } else requireOutput(metadata, ['last_hidden_state'], 'the text encoder');
}

/** The SDXL VAE overflows in fp16 (diffusers sets force_upcast for it) unless it is the fp16-fix variant. */
function checkVaePrecision(model: PartInterfaceFacts): void {
  const decoder = model.metadata.vae_decoder!;
  const { conditioning } = model.traits;
  const isSdxlVae = conditioning === 'sdxl' || conditioning === 'sdxl-refiner';
  const isHalf = decoder.inputs.some((input) => input.name === 'latent_sample' && input.type === 'float16');
  const config = model.folder.parts.vae_decoder!.config;
  if (isSdxlVae && isHalf && config.force_upcast === true) {
    throw partError(
      decoder,
      'this fp16 SDXL VAE decoder is known to overflow (black or NaN images): its config sets force_upcast',
      'use an fp32 VAE export, or the fp16-fix VAE (madebyollin/sdxl-vae-fp16-fix exported to ONNX) paired in ' +
        'pixels-model.json; if this already is the fp16-fix VAE, set "force_upcast": false in its config.json.',
    );
  }
}

/**
 * Checks every part's inputs and outputs against what the family needs.
 * @throws PixelsError('model_error') naming the file, the input or output, and the fix
 */
export function checkPartInterfaces(model: PartInterfaceFacts): void {
  const { metadata, traits } = model;
  const unet = metadata.unet!;
  checkTypes(unet, UNET_INPUTS, 'UNet');
  requireInputs(unet, ['sample', 'timestep', 'encoder_hidden_states'], 'the UNet');
  if (traits.conditioning === 'sdxl' || traits.conditioning === 'sdxl-refiner') {
    // How many time ids it takes was read from this UNet itself (detect-family.ts timeIdCount).
    requireInputs(unet, ['text_embeds', 'time_ids'], `the ${traits.family} UNet`);
  }
  requireOutput(unet, ['out_sample'], 'the UNet');
  for (const part of ['text_encoder', 'text_encoder_2'] as const) {
    if (metadata[part]) checkTextEncoder(metadata[part], model, part);
  }
  const encoder = metadata.vae_encoder!;
  checkTypes(encoder, { sample: FLOAT_TYPES }, 'VAE encoder');
  requireInputs(encoder, ['sample'], 'the VAE encoder');
  requireOutput(encoder, ['latent_parameters', 'latent_sample'], 'the VAE encoder');
  const decoder = metadata.vae_decoder!;
  checkTypes(decoder, { latent_sample: FLOAT_TYPES }, 'VAE decoder');
  requireInputs(decoder, ['latent_sample'], 'the VAE decoder');
  requireOutput(decoder, ['sample'], 'the VAE decoder');
  checkVaePrecision(model);
}
