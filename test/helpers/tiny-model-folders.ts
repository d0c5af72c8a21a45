import { join } from 'node:path';
import { type TinyModelOptions, writeAllTinyModels, writeTinyModel } from '../support/tiny-models/write-tiny-model.ts';
import { tempDir } from './temp-dirs.ts';

/** A fresh temporary models folder holding every tiny model (random weights unless told), removed after the test file. */
export async function tinyModelsFolder(options: Omit<TinyModelOptions, 'omit' | 'pairing'> = {}): Promise<string> {
  const dir = await tempDir('tiny');
  await writeAllTinyModels(dir, options);
  return dir;
}

/** One tiny model in a fresh temporary folder (removed after the test file); returns the model's folder. */
export async function tinyModel(name: string, options: TinyModelOptions = {}): Promise<string> {
  const dir = join(await tempDir('tiny'), `tiny-${name}`);
  await writeTinyModel(dir, name, options);
  return dir;
}
