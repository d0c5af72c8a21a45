import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { createEditRunner, type EditRunnerOptions } from '../edit/create-edit-runner.ts';
import type { EditRunner } from '../edit/edit-runner.ts';
import { checkExposure, ExposureError } from '../http/exposure.ts';
import { type RunningServer, startServer } from '../http/start-server.ts';
import { loadTokensFile, parseTokensVariable, type TokenEntry, TokenRegistry } from '../http/tokens.ts';
import type { JobQueue } from '../jobs/job-queue.ts';
import { createJsonLogger, type Logger, silentLogger } from '../observability/logger.ts';
import { DEFAULT_MODELS_DIR, resolveUserPath } from './cli-support.ts';
import { ConfigError } from './option-reader.ts';
import { parseServeConfig, SERVE_USAGE, type ServeConfig } from './serve-config.ts';

/** Relative paths in flags and variables are the user's: taken from the folder the command was run from. */
function withUserPaths(config: ServeConfig | undefined): ServeConfig | undefined {
  if (!config) return undefined;
  const { tls, tokensFile } = config;
  return {
    ...config,
    modelsDir: resolveUserPath(config.modelsDir),
    tokensFile: tokensFile === undefined ? undefined : resolveUserPath(tokensFile),
    tls: tls && { certFile: resolveUserPath(tls.certFile), keyFile: resolveUserPath(tls.keyFile) },
  };
}

/** `pixels serve`: the team server until SIGINT/SIGTERM, then a graceful stop and exit 0. */
export async function runServe(argv: string[]): Promise<number> {
  let config: ServeConfig | undefined;
  try {
    config = withUserPaths(parseServeConfig(argv, process.env, DEFAULT_MODELS_DIR));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`pixels serve: ${error.message}`);
    return 2;
  }
  if (!config) {
    console.log(SERVE_USAGE);
    return 0;
  }
  const logger = createJsonLogger({ level: config.logLevel });
  let tokens: TokenRegistry;
  let tls: { cert: Buffer; key: Buffer } | undefined;
  try {
    tokens = new TokenRegistry(await readTokens(config));
    // Refuse an exposed address without tokens before any worker starts (startServer checks again and logs warnings).
    checkExposure({
      host: config.host,
      tokenCount: tokens.size,
      insecure: config.insecure,
      tls: config.tls !== undefined,
    });
    tls = config.tls && {
      cert: await readPem(config.tls.certFile, '--tls-cert'),
      key: await readPem(config.tls.keyFile, '--tls-key'),
    };
  } catch (error) {
    console.error(`pixels serve: ${(error as Error).message}`);
    return 2;
  }
  const runners = createRunners(config, logger);
  let server: RunningServer<JobQueue>;
  try {
    server = await startServer({
      host: config.host,
      port: config.port,
      runners,
      devicesFallback: config.devicesFallback,
      tokens,
      insecure: config.insecure,
      tls,
      limits: config.limits,
      retentionMs: config.retentionMs,
      resultsDir: config.resultsDir,
      shutdownMs: config.shutdownMs,
      logger,
      redisUrl: config.redis?.url,
    });
  } catch (error) {
    console.error(`pixels serve: ${(error as Error).message}`);
    await Promise.all(runners.map((runner) => runner.close()));
    return error instanceof ExposureError ? 2 : 1;
  }
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  logger.info('signal received', { signal, deadlineSeconds: config.shutdownMs / 1000 });
  // A second signal means "now": skip the rest of the graceful stop.
  const forceExit = () => {
    logger.warn('second signal: exiting without waiting for jobs');
    process.exit(1);
  };
  process.once('SIGINT', forceExit);
  process.once('SIGTERM', forceExit);
  await server.close();
  return 0;
}

async function readTokens(config: ServeConfig): Promise<TokenEntry[]> {
  const fromFile = config.tokensFile ? await loadTokensFile(config.tokensFile) : [];
  const fromVariable = process.env.PIXELS_TOKENS ? parseTokensVariable(process.env.PIXELS_TOKENS) : [];
  return [...fromFile, ...fromVariable];
}

async function readPem(path: string, flag: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new Error(
      `${flag} ${path}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`,
    );
  }
}

/**
 * Threads each CPU-capable worker gives onnxruntime: the cores but one, shared out, so the HTTP
 * thread always has a core and requests are not starved while an edit computes.
 */
export function cpuThreadsPerWorker(cores: number, cpuWorkers: number): number {
  return Math.max(1, Math.floor((cores - 1) / Math.max(1, cpuWorkers)));
}

/** What each worker is started with: one per `--devices` entry, its device named in errors as `--devices`. */
export function workerOptions(
  config: ServeConfig,
  cores = availableParallelism(),
  logger: Logger = silentLogger,
): EditRunnerOptions[] {
  const mayUseCpu = config.devices.filter((device) => device === 'cpu' || device === 'auto').length;
  const intraOpThreads = cpuThreadsPerWorker(cores, mayUseCpu);
  return config.devices.map((device) => ({
    modelsDir: config.modelsDir,
    device,
    deviceFlag: '--devices',
    intraOpThreads,
    limits: config.limits,
    resourceLimits: { maxOldGenerationSizeMb: config.limits.maxWorkerHeapMb },
    niceLevels: config.workerNice,
    logger: logger.child({ device }),
  }));
}

function createRunners(config: ServeConfig, logger: Logger): EditRunner[] {
  const options = workerOptions(config, availableParallelism(), logger);
  if (config.redis === undefined) return options.map((option) => createEditRunner(option));
  // An API node runs edits only in its --local-workers, on the --devices entries in turn.
  return Array.from({ length: config.redis.localWorkers }, (_, index) =>
    createEditRunner(options[index % options.length]),
  );
}
