import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { createModel, type GraphValue, writeModel } from '../../onnx/writer/index.ts';
import { BUILTIN_DESIGN } from './builtin-design.ts';
import { modelIndex, textEncoderConfig, unetConfig, vaeConfig } from './part-configs.ts';
import { BUILTIN_SCHEDULER_CONFIG } from './scheduler-config.ts';
import { scaledLinearAlphasCumprod } from './scheduler-table.ts';
import { buildTextEncoderGraph } from './text-encoder-graph.ts';
import { buildTokenizer, tokenizerFolderFiles } from './tokenizer-files.ts';
import { buildUnetGraph } from './unet-graph.ts';
import { buildVaeDecoderGraph, buildVaeEncoderGraph } from './vae-graphs.ts';

/** The UNet's side file, named as Optimum names it. */
export const UNET_EXTERNAL_DATA = 'model.onnx_data';

/**
 * Writes the built-in model (an SD-shaped ONNX folder in the Optimum layout) to `dir`. Files are
 * written into a sibling staging folder that is renamed into place at the end, so a reader never
 * sees half a model; the bytes are the same on every run.
 */
export async function generateBuiltinModel(dir: string): Promise<void> {
  const target = resolve(dir);
  await mkdir(dirname(target), { recursive: true });
  const staging = await mkdtemp(join(dirname(target), `.${basename(target)}.partial-`));
  try {
    await writeBuiltinModelFiles(staging);
    await moveIntoPlace(staging, target);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

async function writeBuiltinModelFiles(dir: string): Promise<void> {
  const tokenizer = buildTokenizer();
  const vocabularySize = Object.keys(tokenizer.vocab).length;
  const { hiddenSize, sequenceLength, latentChannels, scaleFactor } = BUILTIN_DESIGN;
  const { memoryBlur, fieldBlur, fieldContextBlur, bandBlur, coarseMaskBlur, commitment, sharpness } = BUILTIN_DESIGN;
  const { cleanBlur, cleanSlope } = BUILTIN_DESIGN;
  const { designStrength, dither, structureWeight } = BUILTIN_DESIGN;
  const schedule = BUILTIN_SCHEDULER_CONFIG;
  const alphasCumprod = scaledLinearAlphasCumprod(schedule.beta_start, schedule.beta_end, schedule.num_train_timesteps);

  const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  const files: Record<string, string> = {
    'model_index.json': json(modelIndex()),
    'scheduler/scheduler_config.json': json(schedule),
    'text_encoder/config.json': json(textEncoderConfig(vocabularySize)),
    'unet/config.json': json(unetConfig()),
    'vae_encoder/config.json': json(vaeConfig()),
    'vae_decoder/config.json': json(vaeConfig()),
  };
  for (const [name, text] of Object.entries(tokenizerFolderFiles(tokenizer, sequenceLength))) {
    files[`tokenizer/${name}`] = text;
  }
  for (const folder of ['scheduler', 'tokenizer', 'text_encoder', 'unet', 'vae_encoder', 'vae_decoder']) {
    await mkdir(join(dir, folder));
  }
  for (const [path, text] of Object.entries(files)) await writeFile(join(dir, path), text);

  const save = (part: string, graph: GraphValue, externalData?: string) =>
    writeModel(
      join(dir, part, 'model.onnx'),
      createModel(graph, { producerName: 'pixels-builtin', producerVersion: String(BUILTIN_DESIGN.version) }),
      externalData ? { location: externalData, minBytes: 1024 } : undefined,
    );
  await save('text_encoder', buildTextEncoderGraph({ vocabularySize, hiddenSize, sequenceLength }));
  await save(
    'unet',
    buildUnetGraph({
      channels: latentChannels,
      memoryBlur,
      fieldBlur,
      fieldContextBlur,
      bandBlur,
      coarseMaskBlur,
      cleanBlur,
      cleanSlope,
      commitment,
      sharpness,
      hiddenSize,
      alphasCumprod,
      designStrength,
      dither,
      structureWeight,
    }),
    UNET_EXTERNAL_DATA,
  );
  await save('vae_encoder', buildVaeEncoderGraph({ scaleFactor }));
  await save('vae_decoder', buildVaeDecoderGraph({ scaleFactor }));
}

/**
 * Renames `staging` to `target`. A target already holding this version is left alone (another
 * process generated the same bytes first); anything else there is replaced.
 */
async function moveIntoPlace(staging: string, target: string): Promise<void> {
  try {
    await rename(staging, target);
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
  }
  if (await holdsCurrentVersion(target)) return;
  const retired = await mkdtemp(join(dirname(target), `.${basename(target)}.old-`));
  await rename(target, join(retired, 'model'));
  await rename(staging, target);
  await rm(retired, { recursive: true, force: true });
}

/** Whether `dir` holds the built-in model of this design version (a folder from an older version does not). */
export async function holdsCurrentVersion(dir: string): Promise<boolean> {
  try {
    const index = JSON.parse(await readFile(join(dir, 'model_index.json'), 'utf8'));
    return index.pixels_builtin_version === BUILTIN_DESIGN.version;
  } catch {
    return false;
  }
}
