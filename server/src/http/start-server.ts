import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { hostname } from 'node:os';
import { createAdaptorServer } from '@hono/node-server';
import type { ModelSummary } from '@pixels/shared';
import { type ProbedRunner, probeRunners } from '../edit/device-readiness.ts';
import type { EditRunner } from '../edit/edit-runner.ts';
import { createJobQueue, type InProcessJobQueue, type JobQueue } from '../jobs/job-queue.ts';
import { RedisJobQueue } from '../jobs/redis/redis-job-queue.ts';
import { startRedisWorker } from '../jobs/redis/redis-worker.ts';
import { type ResultReader, ResultStore } from '../jobs/result-store.ts';
import { EventLoopStallMonitor } from '../observability/event-loop-monitor.ts';
import { JobMetrics } from '../observability/job-metrics.ts';
import { type Logger, silentLogger } from '../observability/logger.ts';
import { createApp, type PixelsApp } from './app.ts';
import { checkExposure } from './exposure.ts';
import { DEFAULT_SERVER_LIMITS, type ServerLimits } from './server-limits.ts';
import type { TokenRegistry } from './tokens.ts';
import { writingFileDownloads } from './write-file-downloads.ts';

export interface StartServerOptions {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  /** One per device, probed before the server listens; the server closes them when it stops (or fails to start). */
  runners: EditRunner[];
  /** Drop a runner whose device cannot start (with a warning) instead of refusing to start. */
  devicesFallback?: boolean;
  tokens: TokenRegistry;
  insecure?: boolean;
  /** PEM certificate and key: serve https. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  limits?: ServerLimits;
  /** How long finished jobs and results are kept. Default one hour. */
  retentionMs?: number;
  /** Folder for finished results; default a temporary `pixels-results-*` folder, removed on stop. */
  resultsDir?: string;
  /**
   * The drain on shutdown: running jobs may finish this long before they are canceled, and the
   * results they finish stay fetchable until the same deadline. Default 30 s.
   */
  shutdownMs?: number;
  logger?: Logger;
  heartbeatMs?: number;
  /**
   * Run as an API node of the Redis engine: jobs, events and results live in this Redis, worker
   * processes run the edits, and `runners` (possibly none) run as in-process workers on it.
   */
  redisUrl?: string;
}

export interface RunningServer<Queue extends JobQueue = InProcessJobQueue> {
  /** Base URL, e.g. http://127.0.0.1:8787. */
  url: string;
  port: number;
  app: PixelsApp;
  queue: Queue;
  /**
   * Graceful stop: refuse new jobs (503) while GETs go on, cancel queued jobs, let running ones
   * finish until the deadline and keep their results fetchable until it (or until each was
   * downloaded), then close.
   */
  close(): Promise<void>;
}

/** Connections still open this long after the queue drained are cut (stuck clients must not block exit). */
const CONNECTION_GRACE_MS = 2000;
/** After an answer that closes the connection, this much more of a refused body is read and dropped, at most. */
const LINGER_MS = 1000;
const LINGER_BYTES = 4 * 1024 * 1024;

/**
 * A lingering close for answers with `Connection: close` (a refused upload): Node destroys the
 * socket as soon as the answer is written, and a close with the client's unread body still
 * arriving resets the connection, which can discard the answer before the client reads it. So
 * the socket half-closes, then reads and drops what still arrives for a moment (capped in time
 * and bytes: the body is never drained), then closes.
 */
function lingerOnClose(socket: Socket): void {
  socket.destroySoon = function destroySoon(this: Socket) {
    if (this.writable) this.end();
    const linger = () => {
      let dropped = 0;
      const timer = setTimeout(() => this.destroy(), LINGER_MS);
      timer.unref();
      const stop = () => {
        clearTimeout(timer);
        this.destroy();
      };
      this.on('data', (chunk: Buffer) => {
        dropped += chunk.length;
        if (dropped > LINGER_BYTES) stop();
      });
      this.once('end', stop);
      this.resume();
    };
    if (this.writableFinished) linger();
    else this.once('finish', linger);
  };
}

/**
 * Starts the team server; refuses (throws) an exposed address without tokens, a device that cannot
 * start (DeviceStartError, unless `devicesFallback`), and a model folder it cannot read.
 */
export async function startServer(options: StartServerOptions & { redisUrl?: undefined }): Promise<RunningServer>;
export async function startServer(options: StartServerOptions): Promise<RunningServer<JobQueue>>;
export async function startServer(options: StartServerOptions): Promise<RunningServer<JobQueue>> {
  const logger = options.logger ?? silentLogger;
  for (const warning of checkExposure({
    host: options.host,
    tokenCount: options.tokens.size,
    insecure: options.insecure === true,
    tls: options.tls !== undefined,
  })) {
    logger.warn(warning);
  }
  const runners =
    options.redisUrl && options.runners.length === 0
      ? []
      : await probeRunners(options.runners, { fallback: options.devicesFallback === true, logger });
  let models: ModelSummary[] = [];
  try {
    if (runners.length > 0) models = await runners[0].listModels();
  } catch (error) {
    await Promise.all(runners.map((runner) => runner.close()));
    throw new Error(`The models could not be listed: ${(error as Error).message}`);
  }
  const metrics = new JobMetrics();
  const stalls = new EventLoopStallMonitor();
  const limits = options.limits ?? DEFAULT_SERVER_LIMITS;
  const engine = options.redisUrl
    ? await startRedisEngine(options.redisUrl, runners, models, { ...options, limits, logger, metrics })
    : startInProcessEngine(runners, models, { ...options, limits, logger, metrics, stalls });
  const { queue, results } = engine;
  const app = createApp({
    queue,
    tokens: options.tokens,
    limits,
    listModels: engine.listModels,
    logger,
    metrics,
    results,
    heartbeatMs: options.heartbeatMs,
    stalls: {
      get maxStallMs() {
        return stalls.maxStallMs;
      },
      get maxBusyStallMs() {
        return stalls.maxBusyStallMs;
      },
      get requestStallsMs() {
        return stalls.requestStallsMs;
      },
      get requestBusyStallsMs() {
        return stalls.requestBusyStallsMs;
      },
      track: (kind) => stalls.track(kind),
    },
    workerReadiness: () => runners.map((runner) => runner.readiness()),
  });
  const server = createAdaptorServer({
    fetch: writingFileDownloads(app.fetch),
    ...(options.tls
      ? { createServer: createHttpsServer, serverOptions: { cert: options.tls.cert, key: options.tls.key } }
      : {}),
  }) as import('node:http').Server;
  server.on(options.tls ? 'secureConnection' : 'connection', lingerOnClose);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          error.code === 'EADDRINUSE'
            ? new Error(`Port ${options.port} on ${options.host} is in use; pick another with --port.`)
            : new Error(`Cannot listen on ${options.host}:${options.port}: ${error.message}`),
        ),
      );
      server.listen(options.port, options.host, () => resolve());
    });
  } catch (error) {
    await engine.close();
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  const hostInUrl = options.host.includes(':') && !options.host.startsWith('[') ? `[${options.host}]` : options.host;
  const url = `${options.tls ? 'https' : 'http'}://${hostInUrl}:${port}`;
  logger.info('listening', {
    url,
    engine: options.redisUrl ? 'redis' : 'in-process',
    workers: runners.length,
    devices: runners.map((runner) => runner.report.device),
    models: models.map((model) => model.name),
    tokens: options.tokens.size,
  });

  let closing: Promise<void> | undefined;
  const close = async () => {
    const started = Date.now();
    logger.info(
      'shutting down',
      await Promise.resolve(queue.stats()).then(
        (stats) => ({ queued: stats.queued, running: stats.running }),
        () => ({}),
      ),
    );
    // The listener stays open through the drain: status, events and results keep working,
    // submissions get 503 and /healthz says draining.
    await queue.drain(options.shutdownMs ?? 30_000);
    await engine.stopLocalWorkers(options.shutdownMs ?? 30_000);
    const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
    // Event streams end with their jobs; cut whatever is still open after a grace period.
    server.closeIdleConnections();
    const timer = setTimeout(() => server.closeAllConnections(), CONNECTION_GRACE_MS);
    await serverClosed;
    clearTimeout(timer);
    stalls.close();
    await Promise.all(runners.map((runner) => runner.close()));
    await engine.close();
    logger.info('stopped', { durationMs: Date.now() - started });
  };
  return {
    url,
    port,
    app,
    queue,
    close: () => {
      closing ??= close();
      return closing;
    },
  };
}

/** The queue and result store of one engine, and how to stop them. */
interface Engine {
  queue: JobQueue;
  results: ResultReader;
  listModels: () => Promise<ModelSummary[]>;
  /** Lets in-process workers of the Redis engine finish (or hand back) their jobs. */
  stopLocalWorkers(deadlineMs: number): Promise<void>;
  close(): Promise<void>;
}

interface EngineContext extends StartServerOptions {
  limits: ServerLimits;
  logger: Logger;
  metrics: JobMetrics;
}

function startInProcessEngine(
  runners: ProbedRunner[],
  models: ModelSummary[],
  context: EngineContext & { stalls: EventLoopStallMonitor },
): Engine {
  const results = new ResultStore(context.resultsDir);
  const queue = createJobQueue({
    onRunningChange: (running) => context.stalls.update(running),
    runners,
    runnerInfo: runners.map((runner) => ({
      device: runner.report.device,
      models: models.map((model) => model.name),
    })),
    limits: context.limits,
    results,
    retentionMs: context.retentionMs,
    logger: context.logger,
    metrics: context.metrics,
  });
  return {
    queue,
    results,
    listModels: async () => models,
    stopLocalWorkers: async () => {},
    close: () => results.close(),
  };
}

async function startRedisEngine(
  redisUrl: string,
  runners: ProbedRunner[],
  models: ModelSummary[],
  context: EngineContext,
): Promise<Engine> {
  const queue = await RedisJobQueue.connect({
    redisUrl,
    limits: context.limits,
    retentionMs: context.retentionMs,
    logger: context.logger,
    metrics: context.metrics,
  });
  const workers = await Promise.all(
    runners.map((runner, index) =>
      startRedisWorker({
        redisUrl,
        name: `${hostname()}-${process.pid}-local-${index + 1}`,
        runner,
        device: runner.report.device,
        models,
        retentionMs: context.retentionMs,
        logger: context.logger,
      }),
    ),
  );
  return {
    queue,
    results: queue.results,
    listModels: () => queue.listModels(),
    stopLocalWorkers: async (deadlineMs) => {
      await Promise.all(workers.map((worker) => worker.close(deadlineMs)));
    },
    close: () => queue.close(),
  };
}
