import { readdir } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { type ModelSummary, PixelsError } from '@pixels/shared';
import type { DiffusionModel } from '../engine/model.ts';
import { fileExists } from '../util/files.ts';
import { generateBuiltinModel } from './builtin/generate.ts';
import { readModelFolder } from './model-folder.ts';
import type { SessionOptions } from './onnx-runtime.ts';
import { StableDiffusionModel } from './sd/stable-diffusion-model.ts';

export const BUILTIN_MODEL = 'builtin';

export interface ModelRegistryOptions {
  /** Folder holding one subfolder per model; the built-in model is generated into `<dir>/builtin`. */
  modelsDir: string;
  session: SessionOptions;
  /** Models kept loaded at once; the least recently used is released beyond this. Default 1. */
  maxResident?: number;
}

/** Finds, loads and keeps models: names resolve inside the models folder, paths are taken as they are. */
export class ModelRegistry {
  private readonly loaded = new Map<string, Promise<StableDiffusionModel>>();

  constructor(private readonly options: ModelRegistryOptions) {}

  private async folderOf(name: string): Promise<string> {
    if (name === BUILTIN_MODEL) {
      const dir = join(this.options.modelsDir, BUILTIN_MODEL);
      if (!(await fileExists(join(dir, 'model_index.json')))) await generateBuiltinModel(dir);
      return dir;
    }
    const isPath = name.includes('/') || name.startsWith('.');
    const dir = isPath ? (isAbsolute(name) ? name : resolve(name)) : join(this.options.modelsDir, name);
    if (!(await fileExists(join(dir, 'model_index.json')))) {
      const known = (await this.names()).join(', ');
      throw new PixelsError(
        'unknown_model',
        isPath
          ? `No model at '${name}': the folder has no model_index.json. Point to an ONNX model folder.`
          : `Unknown model '${name}'. Available: ${known}. Put an ONNX model folder in ${this.options.modelsDir} or pass its path.`,
        'model',
      );
    }
    return dir;
  }

  /** Names of the models in the models folder, the built-in one first. */
  async names(): Promise<string[]> {
    const names = [BUILTIN_MODEL];
    const entries = await readdir(this.options.modelsDir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (entry.isDirectory() && entry.name !== BUILTIN_MODEL && !entry.name.startsWith('.')) {
        if (await fileExists(join(this.options.modelsDir, entry.name, 'model_index.json'))) names.push(entry.name);
      }
    }
    return names;
  }

  /** Loads (or reuses) a model by name or folder path. */
  async get(name: string): Promise<DiffusionModel> {
    const dir = await this.folderOf(name);
    let model = this.loaded.get(dir);
    if (model) {
      this.loaded.delete(dir);
      this.loaded.set(dir, model);
      return model;
    }
    model = readModelFolder(dir, name).then((folder) => StableDiffusionModel.load(folder, this.options.session));
    this.loaded.set(dir, model);
    model.catch(() => this.loaded.delete(dir));
    await this.evict();
    return model;
  }

  private async evict(): Promise<void> {
    const maxResident = this.options.maxResident ?? 1;
    while (this.loaded.size > maxResident) {
      const [oldestDir, oldest] = this.loaded.entries().next().value!;
      this.loaded.delete(oldestDir);
      await (await oldest.catch(() => undefined))?.release();
    }
  }

  async summaries(): Promise<ModelSummary[]> {
    const summaries: ModelSummary[] = [];
    for (const name of await this.names()) {
      const { info } = await this.get(name);
      const { latentChannels, vaeScaleFactor, schedulerConfig, guidanceMode, ...summary } = info;
      summaries.push(summary);
    }
    return summaries;
  }

  async close(): Promise<void> {
    for (const model of this.loaded.values()) await (await model.catch(() => undefined))?.release();
    this.loaded.clear();
  }
}
