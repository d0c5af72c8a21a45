import { type ErrorBody, PixelsError } from '@pixels/shared';
import type { EditRunner } from '../edit/edit-runner.ts';
import type { JobMetrics } from './job-metrics.ts';
import type { JobRecord } from './job-record.ts';
import type { Logger } from './logger.ts';

/** Codes that mean the server, not the request, is at fault: logged as errors. */
const SERVER_FAULT_CODES: ReadonlySet<string> = new Set(['internal', 'model_error', 'device_unavailable']);

export interface RunJobContext {
  logger: Logger;
  metrics: JobMetrics;
}

/**
 * Runs one dequeued job on a runner and turns the runner's callbacks into the job's state and
 * events. Never rejects for a failed edit: the failure becomes the job's `failed` event.
 */
export async function runJob(job: JobRecord, runner: EditRunner, { logger, metrics }: RunJobContext): Promise<void> {
  const startedAt = Date.now();
  job.state = 'running';
  job.position = undefined;
  job.startedAt = startedAt;
  const waitMs = startedAt - job.createdAt;
  metrics.waitSeconds.observe(waitMs / 1000);
  const log = logger.child({ jobId: job.id, owner: job.owner });
  log.info('job started', { waitMs });
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
    job.result = { png: outcome.png, width: outcome.width, height: outcome.height, engineMs: outcome.engineMs };
    finish(job, 'done');
    job.events.append({
      type: 'done',
      resultUrl: job.toJob().resultUrl!,
      width: outcome.width,
      height: outcome.height,
    });
    metrics.finished.done++;
    log.info('job done', { runMs: job.finishedAt! - startedAt, engineMs: outcome.engineMs, waitMs });
  } catch (error) {
    if (job.abort.signal.aborted || (error instanceof PixelsError && error.code === 'canceled')) {
      finish(job, 'canceled');
      job.events.append({ type: 'canceled' });
      metrics.finished.canceled++;
      log.info('job canceled while running', { runMs: job.finishedAt! - startedAt, step: job.progress?.step });
      return;
    }
    job.error = describeFailure(error, job.id);
    finish(job, 'failed');
    job.events.append({ type: 'failed', error: job.error });
    metrics.finished.failed++;
    const fields = { runMs: job.finishedAt! - startedAt, code: job.error.code, error };
    if (SERVER_FAULT_CODES.has(job.error.code)) log.error('job failed', fields);
    else log.info('job refused by the engine', { ...fields, error: job.error.message });
  } finally {
    metrics.runSeconds.observe((Date.now() - startedAt) / 1000);
  }
}

function finish(job: JobRecord, state: 'done' | 'failed' | 'canceled'): void {
  job.state = state;
  job.finishedAt = Date.now();
  job.inputs = undefined;
}

/** A PixelsError keeps its code and message; anything else is a server fault, told without internals. */
function describeFailure(error: unknown, jobId: string): ErrorBody['error'] {
  if (error instanceof PixelsError) return error.toBody().error;
  return {
    code: 'internal',
    message: `The server failed while running job ${jobId}; the error is in the server log. Retry, and tell the server's admin if it happens again.`,
  };
}
