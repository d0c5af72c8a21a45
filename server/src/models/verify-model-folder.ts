/**
 * `pixels models verify DIR`: every problem of a model folder at once, each with its file and fix,
 * instead of the first one a load would hit. Static checks read configs and ONNX headers; the deep
 * check then opens each part in onnxruntime (CPU), which reads every weight.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { externalDataProblems } from '../onnx/reader/external-data-problems.ts';
import { readOnnxMetadata } from '../onnx/reader/read-onnx-metadata.ts';
import { describeModel, type ModelDescription } from './describe-model.ts';
import { INCOMPLETE_SUFFIX, readModelFolder } from './model-folder.ts';
import { openSession } from './onnx-runtime.ts';

export interface VerifyReport {
  dir: string;
  /** Each problem names a file and says what to do; empty when the folder is usable. */
  problems: string[];
  /** What was checked and found fine. */
  checked: string[];
  description?: ModelDescription;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function findIncomplete(dir: string, found: string[] = []): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await findIncomplete(path, found);
    else if (entry.name.endsWith(INCOMPLETE_SUFFIX)) found.push(path);
  }
  return found;
}

/** Checks a model folder; `load` also opens every part in onnxruntime. */
export async function verifyModelFolder(dir: string, options: { load: boolean }): Promise<VerifyReport> {
  const report: VerifyReport = { dir, problems: [], checked: [] };
  for (const path of await findIncomplete(dir)) {
    report.problems.push(
      `${path}: an unfinished download; run the same 'pixels models pull' again to resume it, or delete the file.`,
    );
  }
  let folder: Awaited<ReturnType<typeof readModelFolder>>;
  try {
    folder = await readModelFolder(dir, dir);
    report.checked.push('model_index.json, scheduler config and pixels-model.json (when present) read');
  } catch (error) {
    report.problems.push(messageOf(error));
    return report;
  }
  let graphsReadable = true;
  for (const [part, source] of Object.entries(folder.parts)) {
    try {
      const metadata = await readOnnxMetadata(source.file);
      report.problems.push(...(await externalDataProblems(metadata)));
      const external = metadata.externalData.map((use) => use.location).join(', ');
      report.checked.push(
        `${part}: ${source.shown} (inputs ${metadata.inputs.map((input) => input.name).join(', ')}${external ? `; weights in ${external}` : ''})`,
      );
    } catch (error) {
      graphsReadable = false;
      report.problems.push(messageOf(error));
    }
  }
  if (!graphsReadable) return report;
  try {
    // Weights were checked above, file by file; the description checks everything else.
    report.description = await describeModel(dir, dir, { checkWeights: false });
    const { info, traits } = report.description;
    report.checked.push(
      `family ${info.family} (${traits.evidence}), ${info.dtype}, native ${info.nativeSize}px, ${info.scheduler}`,
    );
  } catch (error) {
    report.problems.push(messageOf(error));
  }
  if (!options.load || report.problems.length > 0) return report;
  for (const [part, source] of Object.entries(folder.parts)) {
    try {
      const session = await openSession(source.file, { providers: ['cpu'], intraOpThreads: 1 });
      await session.release();
      report.checked.push(`${part}: onnxruntime loads it`);
    } catch (error) {
      report.problems.push(messageOf(error));
    }
  }
  return report;
}
