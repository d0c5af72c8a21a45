import { availableParallelism } from 'node:os';
import { PIXEL_LIMIT_CEILING } from '@pixels/shared';
import { createEditRunner } from '../edit/create-edit-runner.ts';
import { startRedisWorker } from '../jobs/redis/redis-worker.ts';
import { createJsonLogger } from '../observability/logger.ts';
import { DEFAULT_MODELS_DIR, resolveUserPath } from './cli-support.ts';
import { ConfigError } from './option-reader.ts';
import { parseWorkerConfig, WORKER_USAGE, type WorkerConfig } from './worker-config.ts';

/** `pixels worker`: runs edits from Redis until SIGINT/SIGTERM, then finishes (or hands back) its job and exits 0. */
export async function runWorker(argv: string[]): Promise<number> {
  let config: WorkerConfig | undefined;
  try {
    config = parseWorkerConfig(argv, process.env, DEFAULT_MODELS_DIR);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`pixels worker: ${error.message}`);
    return 2;
  }
  if (!config) {
    console.log(WORKER_USAGE);
    return 0;
  }
  const logger = createJsonLogger({ level: config.logLevel });
  const runner = createEditRunner({
    modelsDir: resolveUserPath(config.modelsDir),
    device: config.device,
    deviceFlag: '--device',
    // One core is left to the event loop, which renews the job's lock and relays its progress.
    intraOpThreads: Math.max(1, availableParallelism() - 1),
    // The API node checks each request against its own limits; the worker only guards the ceilings.
    limits: { maxPixels: PIXEL_LIMIT_CEILING, maxExemplars: 64 },
    resourceLimits: { maxOldGenerationSizeMb: config.maxWorkerHeapMb },
    logger: logger.child({ device: String(config.device) }),
  });
  let worker: Awaited<ReturnType<typeof startRedisWorker>>;
  try {
    const report = await runner.probe();
    const models = await runner.listModels();
    if (models.length === 0) throw new Error(`no model is installed in ${config.modelsDir}`);
    worker = await startRedisWorker({
      redisUrl: config.redisUrl,
      name: config.name,
      runner,
      device: report.device,
      models,
      retentionMs: config.retentionMs,
      logger,
    });
  } catch (error) {
    logger.error('worker could not start', { error: (error as Error).message });
    console.error(`pixels worker: ${(error as Error).message}`);
    await runner.close();
    return 1;
  }
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  logger.info('signal received', { signal, deadlineSeconds: config.shutdownMs / 1000 });
  const forceExit = () => {
    logger.warn('second signal: exiting without waiting for the job (it is retried elsewhere)');
    process.exit(1);
  };
  process.once('SIGINT', forceExit);
  process.once('SIGTERM', forceExit);
  const started = Date.now();
  await worker.close(config.shutdownMs);
  await runner.close();
  logger.info('stopped', { durationMs: Date.now() - started });
  return 0;
}
