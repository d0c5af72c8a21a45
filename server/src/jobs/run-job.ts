import { type EditFailure, toEditFailure } from '../edit/edit-failure.ts';
import type { EditRunner } from '../edit/edit-runner.ts';
import type { JobMetrics } from '../observability/job-metrics.ts';
import type { Logger } from '../observability/logger.ts';
import type { JobRecord } from './job-record.ts';
import type { ResultStore } from './result-store.ts';

export interface RunJobContext {
  logger: Logger;
  metrics: JobMetrics;
  results: ResultStore;
  /** Whether a job whose worker died may go back to the queue (once, and never while draining). */
  mayRetry: (job: JobRecord) => boolean;
}

/** How a run ended: `retry` puts the job back at the head of its owner's line. */
export type RunEnd = 'done' | 'failed' | 'canceled' | 'retry';

/**
 * Runs one dequeued job on a runner and turns the runner's callbacks into the job's state and
 * events. Never rejects for a failed edit: the failure becomes the job's `failed` event, with
 * the client's message and a reason, and its detail goes to the log under the job id.
 */
export async function runJob(job: JobRecord, runner: EditRunner, context: RunJobContext): Promise<RunEnd> {
  const { logger, metrics } = context;
  const startedAt = Date.now();
  job.state = 'running';
  job.position = undefined;
  job.startedAt = startedAt;
  job.attempts++;
  const waitMs = startedAt - job.createdAt;
  metrics.waitSeconds.observe(waitMs / 1000);
  const log = logger.child({ jobId: job.id, owner: job.owner });
  log.info('job started', { waitMs, attempt: job.attempts });
  let previousStepMs = 0;
  try {
    const outcome = await runner.run(job.settings, job.inputs!, {
      signal: job.abort.signal,
      onStart: (start) => {
        job.seed = start.seed;
        job.progress = { step: 0, totalSteps: start.totalSteps, elapsedMs: 0 };
        job.events.append({
          type: 'started',
          seed: start.seed,
          totalSteps: start.totalSteps,
          ...(start.warnings.length > 0 ? { warnings: start.warnings } : {}),
          ...(job.attempts > 1 ? { attempt: job.attempts } : {}),
        });
      },
      onProgress: (progress) => {
        metrics.stepSeconds.observe(Math.max(0, progress.elapsedMs - previousStepMs) / 1000);
        previousStepMs = progress.elapsedMs;
        // The wire carries whole milliseconds: finer is noise, not information.
        job.progress = {
          step: progress.step,
          totalSteps: progress.totalSteps,
          elapsedMs: Math.round(progress.elapsedMs),
        };
        const preview =
          job.settings.previews && progress.preview ? Buffer.from(progress.preview).toString('base64') : undefined;
        job.events.append({ type: 'step', ...job.progress, ...(preview ? { preview } : {}) });
      },
    });
    job.seed = outcome.seed;
    let stored: Awaited<ReturnType<ResultStore['save']>>;
    try {
      stored = await context.results.save(job.id, outcome.png);
    } catch (error) {
      throw new Error('the result could not be written to the results folder', { cause: error });
    }
    job.result = { ...stored, width: outcome.width, height: outcome.height, engineMs: outcome.engineMs };
    finish(job, 'done');
    job.events.append({
      type: 'done',
      resultUrl: job.toJob().resultUrl!,
      width: outcome.width,
      height: outcome.height,
    });
    metrics.finished.done++;
    log.info('job done', {
      runMs: job.finishedAt! - startedAt,
      engineMs: outcome.engineMs,
      waitMs,
      resultBytes: stored.bytes,
    });
    return 'done';
  } catch (error) {
    if (job.abort.signal.aborted) {
      job.reason = job.cancelReason ?? 'owner';
      finish(job, 'canceled');
      job.events.append({ type: 'canceled', reason: job.reason });
      metrics.finished.canceled++;
      log.info('job canceled while running', {
        reason: job.reason,
        runMs: job.finishedAt! - startedAt,
        step: job.progress?.step,
      });
      return 'canceled';
    }
    const failure = toEditFailure(error);
    if (failure.reason === 'worker_lost' && context.mayRetry(job)) {
      log.warn('job requeued: its worker died', { attempt: job.attempts, detail: failure.detail });
      job.state = 'queued';
      job.startedAt = undefined;
      job.progress = undefined;
      job.events.append({ type: 'requeued', reason: 'worker_lost', attempt: job.attempts + 1 });
      return 'retry';
    }
    recordFailure(job, failure);
    metrics.finished.failed++;
    const fields = { runMs: job.finishedAt! - startedAt, code: failure.code, reason: failure.reason };
    if (failure.reason === 'bad_input') {
      log.info('job refused by the engine', { ...fields, error: failure.message, detail: failure.detail });
    } else log.error('job failed', { ...fields, error: failure.message, detail: failure.detail });
    return 'failed';
  } finally {
    metrics.runSeconds.observe((Date.now() - startedAt) / 1000);
  }
}

function recordFailure(job: JobRecord, failure: EditFailure): void {
  job.error = { code: failure.code, message: failure.message, ...(failure.field ? { field: failure.field } : {}) };
  job.reason = failure.reason;
  finish(job, 'failed');
  job.events.append({ type: 'failed', error: job.error, reason: failure.reason });
}

function finish(job: JobRecord, state: 'done' | 'failed' | 'canceled'): void {
  job.state = state;
  job.finishedAt = Date.now();
  job.inputs = undefined;
}
