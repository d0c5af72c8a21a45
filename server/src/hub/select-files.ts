/**
 * Which files of a Hub repository a model folder needs: configs, tokenizers and each part's ONNX
 * graph first, then exactly the external-data files those graphs reference (read from the graphs
 * themselves, so `model.onnx_data`, `model.onnx.data`, `weights.pb` or any other name is found, and
 * PyTorch weights, safety checkers and other variants are never fetched).
 */
import { PixelsError } from '@pixels/shared';
import { PAIRING_FILE, PART_NAMES, TOKENIZER_NAMES } from '../models/model-pairing.ts';
import type { HubFile, HubRepository } from './hub-client.ts';

const TOKENIZER_FILES = [
  'vocab.json',
  'merges.txt',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
];

/** The folder of the repository that holds the model (`''` for the root), by `model_index.json` next to `unet/*.onnx`. */
export function findModelPrefix(repository: HubRepository, subfolder?: string): string {
  const paths = new Set(repository.files.map((file) => file.path));
  const isModel = (prefix: string) =>
    paths.has(`${prefix}model_index.json`) &&
    repository.files.some((file) => file.path.startsWith(`${prefix}unet/`) && file.path.endsWith('.onnx'));
  if (subfolder !== undefined) {
    const prefix = subfolder.replace(/^\/+|\/+$/g, '');
    const withSlash = prefix === '' ? '' : `${prefix}/`;
    if (!isModel(withSlash)) {
      throw new PixelsError(
        'model_error',
        `${repository.repo}: '${subfolder}' holds no ONNX model (model_index.json and unet/*.onnx).`,
      );
    }
    return withSlash;
  }
  if (isModel('')) return '';
  const candidates = [...paths]
    .filter((path) => path.endsWith('/model_index.json'))
    .map((path) => path.slice(0, -'model_index.json'.length))
    .filter(isModel);
  if (candidates.length === 1) return candidates[0];
  if (candidates.length > 1) {
    throw new PixelsError(
      'bad_request',
      `${repository.repo}@${repository.commit.slice(0, 7)} holds several ONNX models (${candidates.map((prefix) => prefix.slice(0, -1)).join(', ')}); choose one with --subfolder.`,
    );
  }
  const hasPyTorch = paths.has('model_index.json');
  throw new PixelsError(
    'model_error',
    `${repository.repo}@${repository.commit.slice(0, 7)} has no ONNX model (no unet/model.onnx beside a model_index.json)` +
      (hasPyTorch
        ? '; it looks like a PyTorch repository. Look for an ONNX export of it (some repositories keep one on an "onnx" branch: --revision onnx), or export it with optimum-cli export onnx.'
        : '.'),
  );
}

/** Phase one: the small files plus each part's graph (weights come after the graphs say which files hold them). */
export function selectGraphFiles(repository: HubRepository, prefix: string): HubFile[] {
  const byPath = new Map(repository.files.map((file) => [file.path, file]));
  const wanted: HubFile[] = [];
  const take = (path: string) => {
    const file = byPath.get(`${prefix}${path}`);
    if (file) wanted.push(file);
    return file !== undefined;
  };
  take('model_index.json');
  take(PAIRING_FILE);
  if (!take('scheduler/scheduler_config.json')) {
    throw new PixelsError(
      'model_error',
      `${repository.repo}: ${prefix}scheduler/scheduler_config.json is missing from the repository.`,
    );
  }
  for (const tokenizer of TOKENIZER_NAMES) for (const name of TOKENIZER_FILES) take(`${tokenizer}/${name}`);
  for (const part of PART_NAMES) {
    take(`${part}/config.json`);
    if (take(`${part}/model.onnx`)) continue;
    const graphs = repository.files.filter((file) => {
      const rest = file.path.slice(`${prefix}${part}/`.length);
      return file.path.startsWith(`${prefix}${part}/`) && rest.endsWith('.onnx') && !rest.includes('/');
    });
    if (graphs.length === 1) wanted.push(graphs[0]);
    else if (graphs.length > 1) {
      throw new PixelsError(
        'model_error',
        `${repository.repo}: ${prefix}${part}/ holds several ONNX files (${graphs.map((file) => file.path).join(', ')}); download the one you want by hand and name it in ${PAIRING_FILE}.`,
      );
    }
  }
  return wanted;
}

/** Phase two: the repository file holding each external-data location a part's graph references. */
export function selectWeightFiles(
  repository: HubRepository,
  prefix: string,
  references: readonly { part: string; graph: string; location: string }[],
): HubFile[] {
  const byPath = new Map(repository.files.map((file) => [file.path, file]));
  const wanted = new Map<string, HubFile>();
  for (const { part, graph, location } of references) {
    const path = `${prefix}${part}/${location}`;
    const file = byPath.get(path);
    if (!file) {
      throw new PixelsError(
        'model_error',
        `${repository.repo}: ${graph} keeps its weights in '${location}', but the repository has no ${path}; the export is incomplete.`,
      );
    }
    wanted.set(path, file);
  }
  return [...wanted.values()];
}
