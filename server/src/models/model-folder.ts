import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PixelsError } from '@pixels/shared';
import type { SchedulerConfig } from '../engine/scheduler.ts';
import { fileExists } from '../util/files.ts';

/** The parts of a Stable-Diffusion-shaped ONNX export, by folder name. */
export const PART_NAMES = ['text_encoder', 'text_encoder_2', 'unet', 'vae_encoder', 'vae_decoder'] as const;
export type PartName = (typeof PART_NAMES)[number];

export interface ModelFolder {
  dir: string;
  name: string;
  index: Record<string, unknown>;
  schedulerConfig: SchedulerConfig;
  /** Each part's ONNX file, relative to `dir`. */
  parts: Partial<Record<PartName, string>>;
  /** Each part's `config.json` (empty when absent). */
  configs: Partial<Record<PartName, Record<string, unknown>>>;
  tokenizers: string[];
}

async function readJson(path: string, what: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new PixelsError('model_error', `${path}: cannot read ${what}; is this a model folder?`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new PixelsError('model_error', `${path}: ${what} is not valid JSON (${(error as Error).message}); re-download it.`);
  }
}

async function optionalJson(path: string, what: string): Promise<Record<string, unknown>> {
  return (await fileExists(path)) ? readJson(path, what) : {};
}

/** Reads a model folder in the Optimum layout: configs, the parts present, their tokenizers. */
export async function readModelFolder(dir: string, name: string): Promise<ModelFolder> {
  const index = await readJson(join(dir, 'model_index.json'), 'model_index.json');
  const schedulerConfig = (await readJson(
    join(dir, 'scheduler', 'scheduler_config.json'),
    'the scheduler config',
  )) as SchedulerConfig;
  const parts: ModelFolder['parts'] = {};
  const configs: ModelFolder['configs'] = {};
  for (const part of PART_NAMES) {
    const relative = join(part, 'model.onnx');
    if (await fileExists(join(dir, relative))) {
      parts[part] = relative;
      configs[part] = await optionalJson(join(dir, part, 'config.json'), `${part}/config.json`);
    }
  }
  const tokenizers = [];
  for (const folder of ['tokenizer', 'tokenizer_2']) if (await fileExists(join(dir, folder))) tokenizers.push(folder);
  for (const required of ['unet', 'vae_decoder'] as const) {
    if (!parts[required]) {
      throw new PixelsError('model_error', `${dir}: the model has no ${required}/model.onnx; the folder is incomplete.`);
    }
  }
  return { dir, name, index, schedulerConfig, parts, configs, tokenizers };
}
