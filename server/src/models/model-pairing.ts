/**
 * `pixels-model.json`: an optional file in a model folder that takes parts from elsewhere and
 * settles what cannot be detected. The official PIXELS SDXL script runs the refiner's UNet with the
 * base model's second text encoder and VAE; this file says the same:
 *
 *   { "parts": { "text_encoder_2": "../sdxl-base/text_encoder_2", "vae_decoder": "../sdxl-base/vae_decoder" },
 *     "family": "sdxl-refiner" }
 *
 * Paths are relative to the model folder; a part may name its folder or its .onnx file.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MODEL_FAMILIES, type ModelFamily, PixelsError } from '@pixels/shared';
import { fileExists } from '../util/files.ts';

export const PAIRING_FILE = 'pixels-model.json';

/** The ONNX parts of a Stable-Diffusion-shaped export, by folder name. */
export const PART_NAMES = ['text_encoder', 'text_encoder_2', 'unet', 'vae_encoder', 'vae_decoder'] as const;
export type PartName = (typeof PART_NAMES)[number];
export const TOKENIZER_NAMES = ['tokenizer', 'tokenizer_2'] as const;
export type TokenizerName = (typeof TOKENIZER_NAMES)[number];
/** What `parts` may name: the ONNX parts, the tokenizers and the scheduler folder. */
const PAIRABLE = [...PART_NAMES, ...TOKENIZER_NAMES, 'scheduler'] as const;
export type PairableName = (typeof PAIRABLE)[number];

export interface ModelPairing {
  /** Where each named piece comes from, relative to the model folder. */
  parts: Partial<Record<PairableName, string>>;
  /** Overrides family detection. */
  family?: ModelFamily;
  /** Replaces the generated description in `pixels models`. */
  description?: string;
}

function pairingError(path: string, problem: string): PixelsError {
  return new PixelsError('model_error', `${path}: ${problem}`);
}

/** Reads and checks `pixels-model.json` in `dir`; undefined when the folder has none. */
export async function readModelPairing(dir: string): Promise<ModelPairing | undefined> {
  const path = join(dir, PAIRING_FILE);
  if (!(await fileExists(path))) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw pairingError(
      path,
      `not valid JSON (${(error as Error).message}); fix the syntax (see server/MODELS.md, "Pairing parts").`,
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw pairingError(path, 'expected an object such as {"parts": {"vae_decoder": "../other-model/vae_decoder"}}.');
  }
  const { parts = {}, family, description, ...unknown } = value as Record<string, unknown>;
  const extra = Object.keys(unknown);
  if (extra.length > 0) {
    throw pairingError(
      path,
      `unknown field ${JSON.stringify(extra[0])}; the fields are "parts", "family" and "description".`,
    );
  }
  if (typeof parts !== 'object' || parts === null || Array.isArray(parts)) {
    throw pairingError(path, '"parts" must be an object mapping a part name to a path.');
  }
  for (const [name, target] of Object.entries(parts)) {
    if (!(PAIRABLE as readonly string[]).includes(name)) {
      throw pairingError(path, `"parts" names ${JSON.stringify(name)}; expected one of ${PAIRABLE.join(', ')}.`);
    }
    if (typeof target !== 'string' || target.length === 0) {
      throw pairingError(
        path,
        `"parts.${name}" must be a path relative to the model folder, got ${JSON.stringify(target)}.`,
      );
    }
  }
  if (family !== undefined && !(MODEL_FAMILIES as readonly unknown[]).includes(family)) {
    throw pairingError(path, `"family" must be one of ${MODEL_FAMILIES.join(', ')}, got ${JSON.stringify(family)}.`);
  }
  if (description !== undefined && typeof description !== 'string') {
    throw pairingError(path, '"description" must be a string.');
  }
  return {
    parts: parts as ModelPairing['parts'],
    ...(family !== undefined ? { family: family as ModelFamily } : {}),
    ...(description !== undefined ? { description: description as string } : {}),
  };
}
