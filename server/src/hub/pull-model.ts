/**
 * `pixels models pull`: downloads an ONNX model folder from the Hugging Face Hub into the models
 * folder. Files go to a hidden staging folder (`.pulling-<name>`, never listed), each resumed and
 * verified; the graphs are read and the model described before any weights are fetched; the
 * finished folder is renamed into place in one step, so no half model is ever listed.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PixelsError } from '@pixels/shared';
import { describeModel } from '../models/describe-model.ts';
import { readOnnxMetadata } from '../onnx/reader/read-onnx-metadata.ts';
import { fileExists } from '../util/files.ts';
import { downloadFile } from './download-file.ts';
import { checkRepoId, fetchRepository, type HubConnection, type HubFile, resolveUrl } from './hub-client.ts';
import { findModelPrefix, selectGraphFiles, selectWeightFiles } from './select-files.ts';

/** Where a pulled folder records what it came from. */
export const PULL_RECORD = 'pixels-pull.json';
const STAGING_STATE = 'pull-state.json';

export interface PullOptions extends HubConnection {
  repo: string;
  /** Branch, tag or commit; default 'main'. */
  revision?: string;
  /** Folder of the repository holding the model, when it has several. */
  subfolder?: string;
  modelsDir: string;
  /** Folder name in modelsDir; default the repository's name. */
  name?: string;
  /** Replace an existing folder of that name. */
  force?: boolean;
  onProgress?: (progress: PullProgress) => void;
}

export interface PullProgress {
  file: string;
  fileBytes: number;
  fileSize: number;
  /** Bytes on disk over every file selected so far. */
  doneBytes: number;
  /** Known after the graphs are read; grows once when the weights are selected. */
  totalBytes: number;
}

export interface PullResult {
  dir: string;
  commit: string;
  files: string[];
  bytes: number;
}

/** A folder name for the model: the repository's name, checked to be a plain name. */
function folderName(options: PullOptions): string {
  const name = options.name ?? options.repo.split('/')[1];
  if (!/^[\w][\w.-]*$/.test(name)) {
    throw new PixelsError(
      'bad_request',
      `--name: '${name}' is not a plain folder name (letters, digits, '.', '_', '-').`,
    );
  }
  return name;
}

/**
 * Pulls a model; calling it again after an interruption resumes where it stopped.
 * @throws PixelsError naming the repository or file and what to do
 */
export async function pullModel(options: PullOptions): Promise<PullResult> {
  checkRepoId(options.repo);
  const name = folderName(options);
  const target = join(options.modelsDir, name);
  if ((await fileExists(target)) && !options.force) {
    throw new PixelsError(
      'bad_request',
      `${target} already exists; pass --force to replace it, or --name to pull beside it.`,
    );
  }
  const repository = await fetchRepository(options, options.repo, options.revision ?? 'main');
  const prefix = findModelPrefix(repository, options.subfolder);
  const staging = join(options.modelsDir, `.pulling-${name}`);
  const stateFile = join(staging, STAGING_STATE);
  const previous = (await fileExists(stateFile)) ? JSON.parse(await readFile(stateFile, 'utf8')) : undefined;
  if (
    previous &&
    (previous.repo !== repository.repo || previous.commit !== repository.commit || previous.prefix !== prefix)
  ) {
    await rm(staging, { recursive: true, force: true }); // a different commit: start clean
  }
  await writeFileWithFolder(stateFile, JSON.stringify({ repo: repository.repo, commit: repository.commit, prefix }));

  const selected: HubFile[] = selectGraphFiles(repository, prefix);
  let totalBytes = selected.reduce((sum, file) => sum + file.size, 0);
  let finishedBytes = 0;
  const localPath = (file: HubFile) => join(staging, file.path.slice(prefix.length));
  const fetchAll = async (files: readonly HubFile[]) => {
    for (const file of files) {
      const url = resolveUrl(options, repository.repo, repository.commit, file.path);
      const report = (bytes: number) =>
        options.onProgress?.({
          file: file.path,
          fileBytes: bytes,
          fileSize: file.size,
          doneBytes: finishedBytes + bytes,
          totalBytes,
        });
      if (!(await fileExists(localPath(file))))
        await downloadFile(options, url, file, localPath(file), ({ bytes }) => report(bytes));
      report(file.size);
      finishedBytes += file.size;
    }
  };
  await fetchAll(selected);

  // The graphs are here: check it is a model we can run before fetching gigabytes of weights.
  try {
    await describeModel(staging, name, { checkWeights: false });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new PixelsError(
      'model_error',
      `${repository.repo}: not a model PIXELS can run, so no weights were downloaded. ${reason}`,
    );
  }
  const references: { part: string; graph: string; location: string }[] = [];
  for (const file of selected.filter((candidate) => candidate.path.endsWith('.onnx'))) {
    const relative = file.path.slice(prefix.length);
    const metadata = await readOnnxMetadata(localPath(file));
    for (const use of metadata.externalData)
      references.push({ part: dirname(relative), graph: file.path, location: use.location });
  }
  const weights = selectWeightFiles(repository, prefix, references);
  totalBytes += weights.reduce((sum, file) => sum + file.size, 0);
  await fetchAll(weights);

  const files = [...selected, ...weights].map((file) => file.path.slice(prefix.length));
  const record = {
    repo: repository.repo,
    revision: options.revision ?? 'main',
    commit: repository.commit,
    subfolder: prefix,
    endpoint: options.endpoint,
    files,
  };
  await writeFile(join(staging, PULL_RECORD), `${JSON.stringify(record, null, 2)}\n`);
  await rm(stateFile);
  await moveIntoPlace(staging, target);
  return { dir: target, commit: repository.commit, files, bytes: totalBytes };
}

async function writeFileWithFolder(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
}

/** One rename makes the model appear; an old folder of the same name is moved aside first and removed after. */
async function moveIntoPlace(staging: string, target: string): Promise<void> {
  const replaced = join(dirname(target), `.replaced-${Date.now()}-${target.split(/[\\/]/).pop()}`);
  const hadOld = await fileExists(target);
  if (hadOld) await rename(target, replaced);
  await rename(staging, target);
  if (hadOld) await rm(replaced, { recursive: true, force: true });
}
