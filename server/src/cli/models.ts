import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { PixelsError } from '@pixels/shared';
import { DEFAULT_HUB_ENDPOINT } from '../hub/hub-client.ts';
import { type PullProgress, pullModel } from '../hub/pull-model.ts';
import { DEVICES, describeProviders, resolveDevice } from '../models/execution-providers.ts';
import { ModelRegistry, toSummary } from '../models/model-registry.ts';
import { verifyModelFolder } from '../models/verify-model-folder.ts';
import { CliError, DEFAULT_MODELS_DIR, resolveUserPath } from './cli-support.ts';

const MODELS_USAGE = `usage: pixels models [list] [--json]
       pixels models pull <hub-repo-id> [--revision R] [--subfolder P] [--name N] [--force] [--endpoint URL]
       pixels models verify DIR [--quick]
       pixels models devices

  list      the models in the models folder: family, dtype, native size, scheduler, where each part came from
  pull      download an ONNX model folder from the Hugging Face Hub (only the files the loader needs;
            resumable: run it again after an interruption; verified against the Hub's sizes and hashes)
              --revision R   branch, tag or commit (default main)
              --subfolder P  the repository folder holding the model, when it has several
              --name N       the folder name in the models folder (default: the repository's name)
              --force        replace an existing folder of that name
              --endpoint URL the Hub's address (default HF_ENDPOINT or ${DEFAULT_HUB_ENDPOINT}); HF_TOKEN for gated repositories
  verify    explain everything a model folder lacks; without --quick also loads every part in onnxruntime
  devices   which execution devices (${DEVICES.join(', ')}) can run here, and what 'auto' picks

Models live in ${DEFAULT_MODELS_DIR} (set PIXELS_MODELS_DIR or --models-dir to use another folder).
See server/MODELS.md.`;

function modelsDirOf(values: { 'models-dir'?: string }): string {
  return values['models-dir'] ? resolveUserPath(values['models-dir']) : DEFAULT_MODELS_DIR;
}

async function listModels(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { json: { type: 'boolean' }, 'models-dir': { type: 'string' } },
  });
  const registry = new ModelRegistry({
    modelsDir: modelsDirOf(values),
    session: { providers: ['cpu'], intraOpThreads: 1 },
  });
  const listings = await registry.list();
  if (values.json) {
    const models = listings.filter((listing) => listing.description).map((listing) => toSummary(listing.description!));
    const broken = listings
      .filter((listing) => listing.error)
      .map((listing) => ({ name: listing.name, error: listing.error!.message }));
    console.log(JSON.stringify({ models, broken }, null, 2));
    return 0;
  }
  for (const listing of listings) {
    if (!listing.description) {
      console.log(`${listing.name}  UNUSABLE`);
      console.log(`  ${listing.error?.message}`);
      console.log(`  (check it with: pixels models verify ${listing.dir})`);
      continue;
    }
    const { info, recommendedSteps } = listing.description;
    const guidance =
      info.guidanceMode === 'none'
        ? 'no guidance'
        : `guidance ${info.defaultGuidance}${info.guidanceMode === 'embedded' ? ' (embedded)' : ''}`;
    console.log(
      `${info.name}  ${info.family}  ${info.dtype}  ${info.nativeSize}px (sides multiple of ${info.sizeMultiple})  ${info.scheduler}  ${guidance}  ~${recommendedSteps} steps`,
    );
    console.log(`  ${info.description}`);
    for (const [part, path] of Object.entries(info.parts)) console.log(`  ${part}: ${path}`);
  }
  return 0;
}

function formatBytes(bytes: number): string {
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GB`;
}

/** A byte progress bar on a terminal; one line per finished file elsewhere. */
function pullReporter(stream: NodeJS.WriteStream = process.stderr) {
  let lastFile = '';
  let lastDraw = 0;
  return (progress: PullProgress) => {
    const isDone = progress.fileBytes === progress.fileSize;
    if (!stream.isTTY) {
      if (isDone && progress.file !== lastFile)
        stream.write(`${progress.file} (${formatBytes(progress.fileSize)}) ok\n`);
      if (isDone) lastFile = progress.file;
      return;
    }
    const now = Date.now();
    if (!isDone && now - lastDraw < 100) return;
    lastDraw = now;
    const width = 30;
    const share = progress.totalBytes > 0 ? progress.doneBytes / progress.totalBytes : 1;
    const filled = Math.min(width, Math.round(share * width));
    stream.write(
      `\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${formatBytes(progress.doneBytes)} / ${formatBytes(progress.totalBytes)}  ${progress.file}\u001b[K`,
    );
  };
}

async function pull(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      revision: { type: 'string' },
      subfolder: { type: 'string' },
      name: { type: 'string' },
      force: { type: 'boolean' },
      endpoint: { type: 'string' },
      'models-dir': { type: 'string' },
    },
  });
  if (positionals.length !== 1)
    throw new CliError(`pull takes one Hub repository id, e.g. stabilityai/sd-turbo.\n${MODELS_USAGE}`, 2);
  const endpoint = values.endpoint ?? process.env.HF_ENDPOINT ?? DEFAULT_HUB_ENDPOINT;
  const result = await pullModel({
    repo: positionals[0],
    revision: values.revision,
    subfolder: values.subfolder,
    name: values.name,
    force: values.force,
    endpoint,
    token: process.env.HF_TOKEN,
    modelsDir: modelsDirOf(values),
    onProgress: pullReporter(),
  });
  if (process.stderr.isTTY) process.stderr.write('\n');
  console.log(
    `pulled ${positionals[0]}@${result.commit.slice(0, 12)} into ${result.dir} (${result.files.length} files, ${formatBytes(result.bytes)})`,
  );
  return 0;
}

async function verify(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { quick: { type: 'boolean' } },
  });
  if (positionals.length !== 1) throw new CliError(`verify takes one model folder.\n${MODELS_USAGE}`, 2);
  const report = await verifyModelFolder(resolveUserPath(positionals[0]), { load: !values.quick });
  for (const line of report.checked) console.log(`ok: ${line}`);
  for (const problem of report.problems) console.log(`PROBLEM: ${problem}`);
  console.log(
    report.problems.length === 0
      ? `${report.dir}: usable.`
      : `${report.dir}: ${report.problems.length} problem(s); fix them and verify again.`,
  );
  return report.problems.length === 0 ? 0 : 1;
}

async function devices(): Promise<number> {
  for (const device of DEVICES) {
    try {
      const choice = await resolveDevice(device);
      console.log(`${device}: ok (${choice.reason}; providers ${describeProviders(choice.providers)})`);
    } catch (error) {
      console.log(`${device}: unavailable: ${(error as Error).message.replace(/^--device \w+: /, '')}`);
    }
  }
  console.log(`CPU threads per operator: ${availableParallelism()}`);
  return 0;
}

/** `pixels models [list | pull | verify | devices]`. */
export async function runModels(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === '--help' || command === '-h') {
      console.log(MODELS_USAGE);
      return 0;
    }
    switch (command) {
      case undefined:
      case 'list':
        return await listModels(rest);
      case 'pull':
        return await pull(rest);
      case 'verify':
        return await verify(rest);
      case 'devices':
        return await devices();
      default:
        if (command.startsWith('--')) return await listModels(argv);
        throw new CliError(`unknown subcommand '${command}'.\n${MODELS_USAGE}`, 2);
    }
  } catch (error) {
    if (error instanceof CliError) {
      console.error(`pixels models: ${error.message}`);
      return error.exitCode;
    }
    if (error instanceof PixelsError || (error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      console.error(`pixels models: ${(error as Error).message}`);
      return error instanceof PixelsError ? 1 : 2;
    }
    console.error(`pixels models: internal error: ${(error as Error).stack ?? error}`);
    return 1;
  }
}
