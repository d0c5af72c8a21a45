/** Writes tiny model folders for tests and benchmarks: see tiny-model-variants.ts for what each one mimics. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createModel, type GraphValue, writeModel } from '@pixels/server/onnx/writer/index.ts';
import { TINY_MODEL_SPECS, type TinyModelSpec } from './tiny-model-variants.ts';
import { buildTinyTextEncoder } from './tiny-text-encoder.ts';
import { clipVocabulary, TINY_MERGES, tinyTokenizerFiles } from './tiny-tokenizer-files.ts';
import { buildTinyUnet, type UnetBehaviour } from './tiny-unet.ts';
import { buildTinyVaeDecoder, buildTinyVaeEncoder, LATENT_CHANNELS } from './tiny-vae.ts';

/** Pixels per latent cell of the tiny VAE (as SD's), and the tiny native size: 64x64 images, 8x8 latents. */
export const TINY_VAE_SCALE_FACTOR = 8;
export const TINY_NATIVE_SIZE = 64;
/** The tiny UNet downsamples once, so latent sides must be even: image sides multiples of 16. */
const TINY_UNET_BLOCKS = [32, 64];

export interface TinyModelOptions {
  /** Default 'random'. */
  behaviour?: UnetBehaviour;
  /** A fixed-shape UNet export. */
  staticShape?: { batch: number; latentSize: number };
  /** Part or tokenizer folders to leave out (for pairing, or to make a broken folder). */
  omit?: readonly string[];
  /** Contents of `pixels-model.json` (parts from elsewhere, a family override). */
  pairing?: Record<string, unknown>;
  /** Default 1. */
  seed?: number;
}

/** alpha-bar of the scaled_linear schedule every SD family trains with. */
export function scaledLinearAlphas(betaStart: number, betaEnd: number, steps: number): Float64Array {
  const alphas = new Float64Array(steps);
  let product = 1;
  for (let index = 0; index < steps; index++) {
    const beta = (Math.sqrt(betaStart) + ((Math.sqrt(betaEnd) - Math.sqrt(betaStart)) * index) / (steps - 1)) ** 2;
    product *= 1 - beta;
    alphas[index] = product;
  }
  return alphas;
}

async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`);
}

async function writePart(dir: string, graph: GraphValue, externalData?: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeModel(
    join(dir, 'model.onnx'),
    createModel(graph),
    externalData ? { location: externalData, minBytes: 1024 } : undefined,
  );
}

function unetConfig(spec: TinyModelSpec) {
  const { unet } = spec;
  return {
    _class_name: 'UNet2DConditionModel',
    in_channels: LATENT_CHANNELS,
    out_channels: LATENT_CHANNELS,
    sample_size: TINY_NATIVE_SIZE / TINY_VAE_SCALE_FACTOR,
    block_out_channels: TINY_UNET_BLOCKS,
    cross_attention_dim: unet.hiddenSize,
    ...(unet.sdxl
      ? {
          addition_embed_type: 'text_time',
          addition_time_embed_dim: unet.sdxl.timeEmbedWidth ?? 256,
          projection_class_embeddings_input_dim:
            unet.sdxl.textEmbedsSize + (unet.sdxl.timeEmbedWidth ?? 256) * unet.sdxl.timeIds,
        }
      : {}),
    ...(unet.timestepCondSize ? { time_cond_proj_dim: unet.timestepCondSize } : {}),
  };
}

function vaeConfig(spec: TinyModelSpec) {
  return {
    _class_name: 'AutoencoderKL',
    latent_channels: LATENT_CHANNELS,
    block_out_channels: [8, 8, 8, 8],
    sample_size: TINY_NATIVE_SIZE,
    scaling_factor: spec.vae.scalingFactor,
    force_upcast: spec.vae.forceUpcast,
  };
}

/** Writes one tiny model folder for `spec` (or the name of one in TINY_MODEL_SPECS) into `dir`. */
export async function writeTinyModel(
  dir: string,
  specOrName: TinyModelSpec | string,
  options: TinyModelOptions = {},
): Promise<void> {
  const spec = typeof specOrName === 'string' ? TINY_MODEL_SPECS[specOrName] : specOrName;
  if (!spec)
    throw new Error(
      `writeTinyModel: unknown tiny model '${specOrName}'; known: ${Object.keys(TINY_MODEL_SPECS).join(', ')}`,
    );
  const seed = options.seed ?? 1;
  const omitted = new Set(options.omit ?? []);
  const withConfigs = spec.layout !== 'legacy';
  await mkdir(join(dir, 'scheduler'), { recursive: true });
  await writeJson(join(dir, 'model_index.json'), spec.modelIndex);
  await writeJson(
    join(dir, 'scheduler', 'scheduler_config.json'),
    Object.fromEntries(Object.entries(spec.scheduler).filter(([, value]) => value !== undefined)),
  );
  const vocabularySize = Object.keys(clipVocabulary(TINY_MERGES)).length;
  for (const [index, encoder] of spec.textEncoders.entries()) {
    if (!omitted.has(encoder.tokenizerFolder)) {
      await mkdir(join(dir, encoder.tokenizerFolder), { recursive: true });
      for (const [name, text] of Object.entries(tinyTokenizerFiles(encoder.padToken))) {
        await writeFile(join(dir, encoder.tokenizerFolder, name), text);
      }
    }
    if (omitted.has(encoder.folder)) continue;
    const isSdxl = spec.unet.sdxl !== undefined;
    const graph = buildTinyTextEncoder({
      vocabularySize,
      hiddenSize: encoder.hiddenSize,
      layers: 2,
      idsType: spec.idsType,
      withHiddenStates: isSdxl,
      pooledOutput: encoder.pooledOutput,
      floatType: spec.floatType,
      seed: seed * 100 + index * 10,
    });
    await writePart(
      join(dir, encoder.folder),
      graph,
      encoder.folder === 'text_encoder_2' ? 'model.onnx_data' : undefined,
    );
    if (withConfigs) {
      await writeJson(join(dir, encoder.folder, 'config.json'), {
        architectures: [encoder.pooledOutput === 'text_embeds' ? 'CLIPTextModelWithProjection' : 'CLIPTextModel'],
        model_type: 'clip_text_model',
        hidden_size: encoder.hiddenSize,
        projection_dim: encoder.hiddenSize,
        num_hidden_layers: 2,
        max_position_embeddings: 77,
      });
    }
  }
  if (!omitted.has('unet')) {
    const predictionType = spec.scheduler.prediction_type === 'v_prediction' ? 'v_prediction' : 'epsilon';
    const graph = buildTinyUnet({
      ...spec.unet,
      floatType: spec.floatType,
      behaviour: options.behaviour ?? 'random',
      predictionType,
      alphasCumprod: scaledLinearAlphas(0.00085, 0.012, 1000),
      staticShape: options.staticShape,
      seed: seed * 100 + 50,
    });
    await writePart(join(dir, 'unet'), graph, spec.externalData);
    if (withConfigs) await writeJson(join(dir, 'unet', 'config.json'), unetConfig(spec));
  }
  const vae = { scaleFactor: TINY_VAE_SCALE_FACTOR, scalingFactor: spec.vae.scalingFactor, floatType: spec.floatType };
  if (!omitted.has('vae_encoder')) {
    await writePart(join(dir, 'vae_encoder'), buildTinyVaeEncoder({ ...vae, encoderOutput: spec.vae.encoderOutput }));
    if (withConfigs) await writeJson(join(dir, 'vae_encoder', 'config.json'), vaeConfig(spec));
  }
  if (!omitted.has('vae_decoder')) {
    await writePart(join(dir, 'vae_decoder'), buildTinyVaeDecoder(vae));
    if (withConfigs) await writeJson(join(dir, 'vae_decoder', 'config.json'), vaeConfig(spec));
  }
  if (options.pairing) await writeJson(join(dir, 'pixels-model.json'), options.pairing);
}

/** The paired refiner: its own UNet, the base model's second text encoder, tokenizer and VAE (the official script's setup). */
export const PAIRED_REFINER_OPTIONS: TinyModelOptions = Object.freeze({
  omit: ['text_encoder_2', 'tokenizer_2', 'vae_encoder', 'vae_decoder'],
  pairing: {
    parts: {
      text_encoder_2: '../tiny-sdxl/text_encoder_2',
      tokenizer_2: '../tiny-sdxl/tokenizer_2',
      vae_encoder: '../tiny-sdxl/vae_encoder',
      vae_decoder: '../tiny-sdxl/vae_decoder',
    },
  },
});

/** Writes every tiny model into `dir` as `tiny-<name>`, plus `tiny-sdxl-refiner-paired`; returns the folder names. */
export async function writeAllTinyModels(
  dir: string,
  options: Omit<TinyModelOptions, 'omit' | 'pairing'> = {},
): Promise<string[]> {
  const names: string[] = [];
  for (const name of Object.keys(TINY_MODEL_SPECS)) {
    await writeTinyModel(join(dir, `tiny-${name}`), name, options);
    names.push(`tiny-${name}`);
  }
  await writeTinyModel(join(dir, 'tiny-sdxl-refiner-paired'), 'sdxl-refiner', {
    ...options,
    ...PAIRED_REFINER_OPTIONS,
  });
  names.push('tiny-sdxl-refiner-paired');
  return names;
}
