import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type TinyModelOptions,
  writeAllTinyModels,
  writeTinyModel,
} from '@pixels/server/models/testing/write-tiny-model.ts';

/** A fresh temporary models folder holding every tiny model (random weights unless told). */
export async function tinyModelsFolder(options: Omit<TinyModelOptions, 'omit' | 'pairing'> = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'pixels-tiny-'));
  await writeAllTinyModels(dir, options);
  return dir;
}

/** One tiny model in a fresh temporary folder; returns the model's folder. */
export async function tinyModel(name: string, options: TinyModelOptions = {}): Promise<string> {
  const dir = join(await mkdtemp(join(tmpdir(), 'pixels-tiny-')), `tiny-${name}`);
  await writeTinyModel(dir, name, options);
  return dir;
}
