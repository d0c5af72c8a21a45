/**
 * Finds the pieces of a model folder: the Hugging Face Optimum layout and the older ones (the
 * legacy diffusers export with `weights.pb`, Olive's), plus parts paired in from other folders by
 * `pixels-model.json`. Reads only small files: configs and directory listings.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { PixelsError } from '@pixels/shared';
import type { SchedulerConfig } from '../engine/scheduler.ts';
import { fileExists } from '../util/files.ts';
import {
  type ModelPairing,
  PAIRING_FILE,
  PART_NAMES,
  type PartName,
  readModelPairing,
  TOKENIZER_NAMES,
  type TokenizerName,
} from './model-pairing.ts';

export { PART_NAMES, type PartName, TOKENIZER_NAMES, type TokenizerName };

/** The suffix of a file whose download has not finished; `pixels models pull` resumes it, verify reports it. */
export const INCOMPLETE_SUFFIX = '.incomplete';

/** Where one ONNX part comes from. */
export interface PartSource {
  /** Absolute path of the .onnx file (its external data lies beside it). */
  file: string;
  /** The file relative to the model folder, as `pixels models` shows it (`../base/vae_decoder/model.onnx` when paired). */
  shown: string;
  /** The part's `config.json`; empty when the export has none (legacy layout). */
  config: Record<string, unknown>;
  /** Whether `pixels-model.json` brought it in. */
  paired: boolean;
}

export interface ModelFolder {
  dir: string;
  name: string;
  /** `model_index.json`. */
  index: Record<string, unknown>;
  schedulerConfig: SchedulerConfig;
  /** `legacy` for the old diffusers ONNX script (OnnxStableDiffusionPipeline), else `optimum` (Optimum, Olive). */
  layout: 'optimum' | 'legacy';
  parts: Partial<Record<PartName, PartSource>>;
  /** Absolute tokenizer folders. */
  tokenizers: Partial<Record<TokenizerName, string>>;
  pairing?: ModelPairing;
}

const MODEL_FILE = 'model.onnx';

/** Reads a JSON object; names the file, what it is and what to do when it cannot. */
export async function readJsonObject(path: string, what: string, fix: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new PixelsError('model_error', `${path}: cannot read ${what}; ${fix}`);
  }
  try {
    const value = JSON.parse(text);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value;
  } catch (error) {
    throw new PixelsError(
      'model_error',
      `${path}: ${what} is not valid JSON (${(error as Error).message}); download it again.`,
    );
  }
  throw new PixelsError('model_error', `${path}: ${what} must be a JSON object; download it again.`);
}

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then(
    (stats) => stats.isDirectory(),
    () => false,
  );
}

/** The ONNX file of a part folder: `model.onnx`, else its only `.onnx` file. */
async function onnxFileIn(folder: string): Promise<string> {
  if (await fileExists(join(folder, MODEL_FILE))) return join(folder, MODEL_FILE);
  const candidates = (await readdir(folder)).filter((entry) => entry.endsWith('.onnx'));
  if (candidates.length === 1) return join(folder, candidates[0]);
  if (candidates.length === 0) {
    throw new PixelsError(
      'model_error',
      `${folder} has no .onnx file: the folder is incomplete. Download the model again (pixels models pull resumes) or remove the folder.`,
    );
  }
  throw new PixelsError(
    'model_error',
    `${folder} holds several ONNX files (${candidates.join(', ')}) and no ${MODEL_FILE}: name the one to use in ${PAIRING_FILE}, e.g. {"parts": {"${folder.split(/[\\/]/).pop()}": "${relative(dirname(folder), join(folder, candidates[0]))}"}}.`,
  );
}

async function readConfig(folder: string): Promise<Record<string, unknown>> {
  const path = join(folder, 'config.json');
  return (await fileExists(path)) ? readJsonObject(path, 'the part config', 'check its permissions.') : {};
}

/** Resolves a piece named in the pairing file, or its usual folder; undefined when absent. */
async function locate(
  dir: string,
  name: string,
  pairing: ModelPairing | undefined,
): Promise<{ path: string; paired: boolean } | undefined> {
  const target = pairing?.parts[name as keyof ModelPairing['parts']];
  if (target === undefined) {
    const path = join(dir, name);
    return (await fileExists(path)) ? { path, paired: false } : undefined;
  }
  const path = resolve(dir, target);
  if (!(await fileExists(path))) {
    throw new PixelsError(
      'model_error',
      `${join(dir, PAIRING_FILE)}: "parts.${name}" points to ${path}, which does not exist; fix the path (relative to ${dir}).`,
    );
  }
  return { path, paired: true };
}

async function readPart(
  dir: string,
  name: PartName,
  pairing: ModelPairing | undefined,
): Promise<PartSource | undefined> {
  const found = await locate(dir, name, pairing);
  if (!found) return undefined;
  const isFolder = await isDirectory(found.path);
  const file = isFolder ? await onnxFileIn(found.path) : found.path;
  return { file, shown: relative(dir, file), config: await readConfig(dirname(file)), paired: found.paired };
}

/**
 * Reads a model folder's configs and finds its parts.
 * @throws PixelsError('model_error') naming the file and the fix when the folder is not a model or a config is broken
 */
export async function readModelFolder(dir: string, name: string): Promise<ModelFolder> {
  const indexPath = join(dir, 'model_index.json');
  if (!(await fileExists(indexPath))) {
    throw new PixelsError(
      'model_error',
      `${dir} is not a model folder: it has no model_index.json. A model folder holds model_index.json, scheduler/, unet/, vae_encoder/, vae_decoder/ and its text encoders (see server/MODELS.md); get one with 'pixels models pull <hub-repo-id>'.`,
    );
  }
  const index = await readJsonObject(indexPath, 'model_index.json', 'check its permissions.');
  const pairing = await readModelPairing(dir);
  const schedulerFolder = (await locate(dir, 'scheduler', pairing))?.path ?? join(dir, 'scheduler');
  const schedulerConfig = (await readJsonObject(
    join(schedulerFolder, 'scheduler_config.json'),
    'the scheduler config',
    "every model folder needs scheduler/scheduler_config.json; copy it from the model's Hub repository.",
  )) as SchedulerConfig;
  const parts: ModelFolder['parts'] = {};
  for (const part of PART_NAMES) {
    const source = await readPart(dir, part, pairing);
    if (source) parts[part] = source;
  }
  const tokenizers: ModelFolder['tokenizers'] = {};
  for (const tokenizer of TOKENIZER_NAMES) {
    const found = await locate(dir, tokenizer, pairing);
    if (found) tokenizers[tokenizer] = found.path;
  }
  const className = typeof index._class_name === 'string' ? index._class_name : '';
  const layout = className.startsWith('Onnx') ? 'legacy' : 'optimum';
  return { dir, name, index, schedulerConfig, layout, parts, tokenizers, ...(pairing ? { pairing } : {}) };
}
