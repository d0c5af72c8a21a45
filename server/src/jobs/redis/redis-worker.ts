import { type EndReason, type ModelSummary, PixelsError } from '@pixels/shared';
import { type Job, WaitingError, Worker } from 'bullmq';
import { toEditFailure } from '../../edit/edit-failure.ts';
import type { EditRunner } from '../../edit/edit-runner.ts';
import { type Logger, silentLogger } from '../../observability/logger.ts';
import { WORKER_HEARTBEAT } from '../job-queue.ts';
import { resultUrl } from '../job-record.ts';
import { newWorkerTally } from '../worker-tally.ts';
import { bullConnection, connectPatiently } from './redis-connection.ts';
import { type JobSnapshot, RedisJobStore } from './redis-job-store.ts';
import { modelQueueName, redisKeys } from './redis-keys.ts';

export interface RedisWorkerOptions {
  redisUrl: string;
  /** Unique among the workers on this Redis (GET /v1/workers lists it). */
  name: string;
  /** The supervised runner of one device; this worker runs one job at a time on it. */
  runner: EditRunner;
  device: string;
  /** The models this worker takes jobs for. */
  models: readonly ModelSummary[];
  /** How long finished results are kept. Default one hour. */
  retentionMs?: number;
  logger?: Logger;
}

export interface RunningRedisWorker {
  readonly name: string;
  /**
   * Graceful stop: takes no new job, lets the one in hand finish until `deadlineMs`, then hands it
   * back to the queue (another worker runs it from the start); the runner is left to the caller.
   */
  close(deadlineMs: number): Promise<void>;
}

/**
 * BullMQ's lock on a running job: renewed every half of it while the worker lives (inference runs
 * in the runner's thread, so the event loop renews it on time). A worker killed mid-job loses it,
 * and another worker's stalled check (every STALLED_CHECK_MS) moves the job back to waiting: a
 * SIGKILLed worker's job is running again elsewhere within about LOCK_MS + STALLED_CHECK_MS.
 */
export const LOCK_MS = 10_000;
export const STALLED_CHECK_MS = 5_000;
/** BullMQ retries a job that stalled once; a second stall fails it (then `worker_lost`). */
export const MAX_STALLED = 1;
/** Runs a job may start: a second after its runner's thread died, none after that. */
export const ATTEMPTS = 2;

interface CurrentJob {
  id: string;
  abort: AbortController;
  /** Set when the stop's deadline passed: the job goes back to the queue instead of ending. */
  handBack: boolean;
  /** Steps finished so far, and when the cancel arrived (the log shows it stopped within one step). */
  steps: number;
  stepsAtCancel?: number;
}

const delay = (ms: number) => new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), ms).unref());

/**
 * A worker process's part of the Redis engine: takes jobs of its models from their BullMQ queues,
 * runs each on its runner with progress and previews as events, stores the result, listens for
 * cancels from any API node, and says it is alive every heartbeat.
 */
export async function startRedisWorker(options: RedisWorkerOptions): Promise<RunningRedisWorker> {
  const logger = (options.logger ?? silentLogger).child({ worker: options.name });
  const redis = connectPatiently(options.redisUrl, `pixels-worker-${options.name}`);
  const subscriber = connectPatiently(options.redisUrl, `pixels-worker-${options.name}-cancel`);
  const store = new RedisJobStore(redis, options.retentionMs ?? 60 * 60 * 1000);
  const tally = newWorkerTally();
  const modelNames = options.models.map((model) => model.name);
  let current: CurrentJob | undefined;
  /** One job at a time on the runner, whichever model's queue it came from. */
  let runnerFree: Promise<void> = Promise.resolve();

  await subscriber.subscribe(redisKeys.cancelChannel);
  subscriber.on('message', (_channel: string, jobId: string) => {
    if (current?.id !== jobId) return;
    current.stepsAtCancel ??= current.steps;
    current.abort.abort();
  });

  const heartbeat = async () => {
    await store
      .announceWorker({
        name: options.name,
        devices: [options.device],
        models: modelNames,
        ...(current ? { currentJob: current.id } : {}),
        lastHeartbeat: Date.now(),
        ...tally,
      })
      .catch((error: unknown) => logger.warn('heartbeat not delivered', { error: (error as Error).message }));
  };
  await redis.hset(
    redisKeys.models,
    Object.fromEntries(options.models.map((model) => [model.name, JSON.stringify(model)])),
  );
  await heartbeat();
  const heartbeatTimer = setInterval(heartbeat, WORKER_HEARTBEAT.heartbeatMs);

  const processJob = async (job: Job, token?: string): Promise<void> => {
    const previous = runnerFree;
    let release = () => {};
    runnerFree = new Promise((resolve) => {
      release = resolve;
    });
    await previous;
    try {
      await runOne(job, token);
    } finally {
      current = undefined;
      release();
      void heartbeat();
    }
  };

  const runOne = async (job: Job, token: string | undefined): Promise<void> => {
    const id = job.id!;
    const snapshot = await store.load(id);
    if (!snapshot || snapshot.state === 'done' || snapshot.state === 'failed' || snapshot.state === 'canceled') {
      return; // finished (canceled, or run by a worker that only seemed lost) or expired
    }
    const log = logger.child({ jobId: id, owner: snapshot.owner });
    const running: CurrentJob = { id, abort: new AbortController(), handBack: false, steps: 0 };
    current = running;
    // Subscribed before this check, so a cancel is seen whether it came before or during the run.
    if (snapshot.cancel) {
      await endCanceled(snapshot, snapshot.cancel, log);
      return;
    }
    const inputs = await store.loadInputs(snapshot);
    if (!inputs) {
      await store.transition(
        snapshot,
        'end',
        {
          type: 'failed',
          error: {
            code: 'internal',
            message: 'The edit waited longer than the server keeps its images; submit it again.',
          },
          reason: 'server_fault',
        },
        { state: 'failed', reason: 'server_fault', finishedAt: Date.now() },
      );
      return;
    }
    const startedAt = Date.now();
    const took = await store.transition(snapshot, 'start', undefined, {
      state: 'running',
      startedAt,
      worker: options.name,
    });
    if (took <= 0) return; // ended (canceled) between the look and the start
    await store.markRoundStarted(job.priority);
    await redis.publish(redisKeys.queueChangedChannel, snapshot.model);
    log.info('job started', { waitMs: startedAt - snapshot.createdAt, attempt: snapshot.attempts + 1 });
    // Events are written in the order they happen; the run's end waits for the last of them.
    let written: Promise<unknown> = Promise.resolve();
    const write = (step: () => Promise<unknown>) => {
      written = written.then(step).catch((error: unknown) => log.warn('event not written', { error }));
    };
    let steps = 0;
    let stepMs = 0;
    try {
      const outcome = await options.runner.run(snapshot.settings, inputs, {
        signal: running.abort.signal,
        onStart: (start) =>
          write(() =>
            store.transition(
              snapshot,
              'step',
              {
                type: 'started',
                seed: start.seed,
                totalSteps: start.totalSteps,
                ...(start.warnings.length > 0 ? { warnings: start.warnings } : {}),
                ...(snapshot.attempts > 0 ? { attempt: snapshot.attempts + 1 } : {}),
              },
              {
                seed: start.seed,
                progress: JSON.stringify({ step: 0, totalSteps: start.totalSteps, elapsedMs: 0 }),
              },
            ),
          ),
        onProgress: (progress) => {
          const wire = {
            step: progress.step,
            totalSteps: progress.totalSteps,
            elapsedMs: Math.round(progress.elapsedMs),
          };
          steps = progress.step;
          running.steps = steps;
          stepMs = progress.elapsedMs;
          const preview =
            snapshot.settings.previews && progress.preview
              ? Buffer.from(progress.preview).toString('base64')
              : undefined;
          write(() =>
            store.transition(
              snapshot,
              'step',
              { type: 'step', ...wire, ...(preview ? { preview } : {}) },
              {
                progress: JSON.stringify(wire),
              },
            ),
          );
        },
      });
      await written;
      await store.saveResult(id, outcome.png);
      const result = {
        bytes: outcome.png.byteLength,
        width: outcome.width,
        height: outcome.height,
        engineMs: outcome.engineMs,
      };
      const ended = await store.transition(
        snapshot,
        'end',
        { type: 'done', resultUrl: resultUrl(id), width: outcome.width, height: outcome.height },
        {
          state: 'done',
          finishedAt: Date.now(),
          seed: outcome.seed,
          resultBytes: result.bytes,
          result: JSON.stringify(result),
        },
      );
      if (ended > 0) tally.jobs.done++;
      log.info('job done', { runMs: Date.now() - startedAt, engineMs: outcome.engineMs, resultBytes: result.bytes });
    } catch (error) {
      await written;
      if (running.handBack) {
        await store.transition(
          snapshot,
          'requeue',
          { type: 'requeued', reason: 'shutdown', attempt: snapshot.attempts + 2 },
          { state: 'queued' },
        );
        await job.moveToWait(token);
        log.warn('job handed back: the worker is stopping', { step: steps });
        throw new WaitingError();
      }
      if (running.abort.signal.aborted) {
        const reason = ((await redis.hget(redisKeys.job(id), 'cancel')) ?? 'owner') as EndReason;
        await endCanceled(snapshot, reason, log.child({ stepsAtCancel: running.stepsAtCancel, steps }));
        return;
      }
      const failure = toEditFailure(error);
      if (failure.reason === 'worker_lost' && job.attemptsMade + 1 < ATTEMPTS) {
        // BullMQ's attempts retry it (any worker of the model may take it).
        await store.transition(
          snapshot,
          'requeue',
          { type: 'requeued', reason: 'worker_lost', attempt: snapshot.attempts + 2 },
          { state: 'queued' },
        );
        log.warn('job requeued: its worker thread died', { detail: failure.detail });
        throw new Error('the edit worker thread died');
      }
      const error_ = {
        code: failure.code,
        message: failure.message,
        ...(failure.field ? { field: failure.field } : {}),
      };
      const ended = await store.transition(
        snapshot,
        'end',
        { type: 'failed', error: error_, reason: failure.reason },
        { state: 'failed', reason: failure.reason, finishedAt: Date.now(), error: JSON.stringify(error_) },
      );
      if (ended > 0) tally.jobs.failed++;
      const fields = { code: failure.code, reason: failure.reason, error: failure.message, detail: failure.detail };
      if (failure.reason === 'bad_input') log.info('job refused by the engine', fields);
      else log.error('job failed', fields);
    } finally {
      tally.steps += steps;
      tally.stepSeconds += stepMs / 1000;
    }
  };

  const endCanceled = async (snapshot: JobSnapshot, reason: EndReason, log: Logger) => {
    const ended = await store.transition(
      snapshot,
      'end',
      { type: 'canceled', reason },
      { state: 'canceled', reason, finishedAt: Date.now() },
    );
    if (ended > 0) tally.jobs.canceled++;
    log.info('job canceled while running', { reason });
  };

  const workers = options.models.map(
    (model) =>
      new Worker(modelQueueName(model.name), processJob, {
        connection: bullConnection(options.redisUrl),
        name: options.name,
        concurrency: 1,
        lockDuration: LOCK_MS,
        stalledInterval: STALLED_CHECK_MS,
        maxStalledCount: MAX_STALLED,
        removeOnComplete: { count: 0 },
        removeOnFail: { age: Math.ceil((options.retentionMs ?? 3_600_000) / 1000) },
      }),
  );
  for (const worker of workers) {
    worker.on('error', (error) => logger.warn('queue connection problem', { error: error.message }));
  }
  logger.info('worker ready', { device: options.device, models: modelNames });

  let closing: Promise<void> | undefined;
  return {
    name: options.name,
    close(deadlineMs: number) {
      closing ??= (async () => {
        const stopped = Promise.all(workers.map((worker) => worker.close()));
        if ((await Promise.race([stopped, delay(deadlineMs)])) === 'timeout' && current) {
          current.handBack = true;
          current.abort.abort();
        }
        await stopped;
        clearInterval(heartbeatTimer);
        await store.forgetWorker(options.name).catch(() => {});
        subscriber.disconnect();
        await redis.quit().catch(() => redis.disconnect());
      })();
      return closing;
    },
  };
}

/** Refuses a worker without models: it would take no job. */
export function checkWorkerModels(models: readonly ModelSummary[]): void {
  if (models.length === 0) {
    throw new PixelsError('not_ready', 'This worker has no model installed, so it would take no job.');
  }
}
