import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ModelValue } from './onnx-model.ts';
import { type ExternalDataOptions, serializeModel } from './serialize-model.ts';

/**
 * Writes `model` to `path`, and its large initializers to `externalData.location` in the same
 * folder when asked (ONNX resolves that location relative to the model file).
 */
export async function writeModel(path: string, model: ModelValue, externalData?: ExternalDataOptions): Promise<void> {
  if (externalData && (externalData.location.includes('/') || externalData.location.includes('\\'))) {
    throw new Error(
      `writeModel: externalData.location must be a file name next to the model, got '${externalData.location}'`,
    );
  }
  const serialized = serializeModel(model, externalData);
  await writeFile(path, serialized.model);
  if (externalData && serialized.externalData) {
    await writeFile(join(dirname(path), externalData.location), serialized.externalData);
  }
}
