import { stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { OnnxMetadata } from './read-onnx-metadata.ts';

/**
 * What is wrong with the external weights a graph references: files missing or shorter than the
 * bytes the graph reads (an interrupted download). One stat per file; nothing is read.
 */
export async function externalDataProblems(metadata: OnnxMetadata): Promise<string[]> {
  const problems: string[] = [];
  for (const use of metadata.externalData) {
    const path = join(dirname(metadata.path), use.location);
    const size = await stat(path).then(
      (stats) => stats.size,
      () => -1,
    );
    if (size < 0) {
      problems.push(
        `${path}: missing; ${metadata.path} keeps ${use.tensors} weights there. Download it beside the graph.`,
      );
    } else if (size < use.requiredBytes) {
      problems.push(
        `${path}: ${size} bytes, but ${metadata.path} reads up to byte ${use.requiredBytes}; the file is truncated. Download it again.`,
      );
    }
  }
  return problems;
}
