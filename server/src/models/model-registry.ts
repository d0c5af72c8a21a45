import { readdir } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { type ModelSummary, PixelsError } from '@pixels/shared';
import type { DiffusionModel } from '../engine/model.ts';
import { fileExists } from '../util/files.ts';
import { generateBuiltinModel, holdsCurrentVersion } from './builtin/generate.ts';
import { describeModel, type ModelDescription } from './describe-model.ts';
import {
  type Device,
  type DeviceChoice,
  type DeviceSpec,
  describeProviders,
  resolveDevice,
} from './execution-providers.ts';
import type { SessionOptions } from './onnx-runtime.ts';
import { StableDiffusionModel } from './sd/stable-diffusion-model.ts';

export const BUILTIN_MODEL = 'builtin';

export interface ModelRegistryOptions {
  /** Folder holding one subfolder per model; the built-in model is generated into `<dir>/builtin`. */
  modelsDir: string;
  session: SessionOptions;
  /**
   * auto | cpu | cuda | cuda:N | webgpu: replaces `session.providers` with what the device resolves
   * to (auto: CUDA when its provider loads, else CPU), reported once through `onInfo`.
   */
  device?: Device | DeviceSpec;
  /** The flag the device came from, named in errors: `--device` (default) or `--devices`. */
  deviceFlag?: string;
  /** Models kept loaded at once; the least recently used is released beyond this. Default 1. */
  maxResident?: number;
  /** Told about recoverable problems (a prompt cut to 77 tokens, a broken folder skipped in a listing). Default: console.warn. */
  onWarning?: (message: string) => void;
  /** Told which device was chosen and why. Default: console.error. */
  onInfo?: (message: string) => void;
}

/** What a worker's probe found: the device its sessions run on and the providers they were created with. */
export interface DeviceReport {
  /** `cpu`, `cuda:N` or `webgpu`. */
  device: string;
  /** `cuda:1, cpu`. */
  providers: string;
  reason: string;
}

/** One entry of a listing: the model's description, or why its folder cannot be used. */
export interface ModelListing {
  name: string;
  dir: string;
  description?: ModelDescription;
  error?: Error;
}

/** The summary the wire and `pixels models --json` carry: the engine-only fields left out. */
export function toSummary(description: ModelDescription): ModelSummary {
  const { latentChannels, schedulerConfig, guidanceMode, latentPreview, ...summary } = description.info;
  return summary;
}

/**
 * Finds, describes, loads and keeps models: names resolve inside the models folder, paths are taken
 * as they are. Listing reads configs and ONNX headers only; sessions open on first use, once per
 * model, and stay for later jobs until evicted.
 */
export class ModelRegistry {
  private readonly loaded = new Map<string, Promise<StableDiffusionModel>>();
  private sessionOptions: Promise<{ session: SessionOptions; choice?: DeviceChoice }> | undefined;

  constructor(private readonly options: ModelRegistryOptions) {}

  /**
   * The session options, with the device resolved once. Explicit GPU providers are probed too, so
   * a missing CUDA install is a clear error rather than onnxruntime's "Failed to load shared library".
   */
  private resolveSessionOptions(): Promise<{ session: SessionOptions; choice?: DeviceChoice }> {
    this.sessionOptions ??= (async () => {
      const { session } = this.options;
      const flag = this.options.deviceFlag;
      // `pixels serve --devices auto` arrives as the provider list ['auto'].
      const isAutoList = session.providers.length === 1 && session.providers[0] === 'auto';
      const device = this.options.device ?? (isAutoList ? 'auto' : undefined);
      if (device) {
        const choice = await resolveDevice(device, { flag });
        (this.options.onInfo ?? ((text) => console.error(`pixels: ${text}`)))(
          `device ${choice.device}: ${choice.reason}`,
        );
        return { session: { ...session, providers: choice.providers }, choice };
      }
      for (const provider of session.providers) {
        if (provider === 'cuda' || provider === 'webgpu') await resolveDevice(provider, { flag });
      }
      return { session };
    })();
    return this.sessionOptions;
  }

  /**
   * Checks that this registry's device can run a model: starts the device, opens `name`'s sessions
   * on it and runs its VAE decoder once on the smallest latent it takes (cheap on any device).
   * @throws PixelsError('device_unavailable') naming the device flag when the device cannot start, or the model's own error
   */
  async probe(name: string = BUILTIN_MODEL): Promise<DeviceReport> {
    const { session, choice } = await this.resolveSessionOptions();
    const model = await this.get(name);
    const side = Math.max(1, model.info.sizeMultiple / model.info.vaeScaleFactor);
    const cells = model.info.latentChannels * side * side;
    await model.decodeLatent({ data: new Float32Array(cells), shape: [1, model.info.latentChannels, side, side] });
    return {
      device: choice?.device ?? describeProviders(session.providers.slice(0, 1)),
      providers: describeProviders(session.providers),
      reason: choice?.reason ?? 'providers as configured',
    };
  }

  private warn(message: string): void {
    (this.options.onWarning ?? ((text) => console.warn(`pixels: ${text}`)))(message);
  }

  /** The folder a model name or path refers to (the built-in model is generated on first use, and again after a design change). */
  async folderOf(name: string): Promise<string> {
    if (name === BUILTIN_MODEL) {
      const dir = join(this.options.modelsDir, BUILTIN_MODEL);
      if (!(await holdsCurrentVersion(dir))) await generateBuiltinModel(dir);
      return dir;
    }
    const isPath = name.includes('/') || name.startsWith('.');
    const dir = isPath ? (isAbsolute(name) ? name : resolve(name)) : join(this.options.modelsDir, name);
    if (!(await fileExists(dir))) {
      const known = (await this.names()).join(', ');
      throw new PixelsError(
        'unknown_model',
        isPath
          ? `No model at '${name}': the folder does not exist. Point to an ONNX model folder.`
          : `Unknown model '${name}'. Available: ${known}. Put an ONNX model folder in ${this.options.modelsDir}, pull one with 'pixels models pull <hub-repo-id>', or pass its path.`,
        'model',
      );
    }
    return dir;
  }

  /** Names of the model folders in the models folder (hidden ones, such as downloads in progress, skipped), the built-in one first. */
  async names(): Promise<string[]> {
    const names = [BUILTIN_MODEL];
    const entries = await readdir(this.options.modelsDir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.isDirectory() && entry.name !== BUILTIN_MODEL && !entry.name.startsWith('.')) names.push(entry.name);
    }
    return names;
  }

  /** Describes a model from its configs and ONNX headers, without loading weights. */
  async describe(name: string): Promise<ModelDescription> {
    return describeModel(await this.folderOf(name), name);
  }

  /** Every model folder with its description or the reason it cannot be used. */
  async list(): Promise<ModelListing[]> {
    const listings: ModelListing[] = [];
    for (const name of await this.names()) {
      const dir =
        name === BUILTIN_MODEL ? join(this.options.modelsDir, BUILTIN_MODEL) : join(this.options.modelsDir, name);
      try {
        listings.push({ name, dir, description: await this.describe(name) });
      } catch (error) {
        listings.push({ name, dir, error: error as Error });
      }
    }
    return listings;
  }

  /** Summaries of the usable models; broken folders are skipped with a warning saying why. */
  async summaries(): Promise<ModelSummary[]> {
    const summaries: ModelSummary[] = [];
    for (const listing of await this.list()) {
      if (listing.description) summaries.push(toSummary(listing.description));
      else this.warn(`model '${listing.name}' skipped: ${listing.error?.message}`);
    }
    return summaries;
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
    model = (async () => {
      const { session } = await this.resolveSessionOptions();
      const description = await describeModel(dir, name);
      return StableDiffusionModel.load(description, { ...session, onWarning: this.options.onWarning });
    })();
    this.loaded.set(dir, model);
    model.catch(() => this.loaded.delete(dir));
    await this.evict();
    return model;
  }

  private async evict(): Promise<void> {
    const maxResident = Math.max(1, this.options.maxResident ?? 1);
    while (this.loaded.size > maxResident) {
      const [oldestDir, oldest] = this.loaded.entries().next().value!;
      this.loaded.delete(oldestDir);
      await (await oldest.catch(() => undefined))?.release();
    }
  }

  async close(): Promise<void> {
    for (const model of this.loaded.values()) await (await model.catch(() => undefined))?.release();
    this.loaded.clear();
  }
}
