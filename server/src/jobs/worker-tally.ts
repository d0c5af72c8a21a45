import type { WorkerStatus } from '@pixels/shared';
import type { JobRecord } from './job-record.ts';

/** What one worker has done since it started: the per-worker figures of GET /v1/workers and /metrics. */
export type WorkerTally = Pick<WorkerStatus, 'jobs' | 'steps' | 'stepSeconds'>;

export function newWorkerTally(): WorkerTally {
  return { jobs: { done: 0, failed: 0, canceled: 0 }, steps: 0, stepSeconds: 0 };
}

/** Adds a finished run (a retried one counts only its steps). */
export function countRun(tally: WorkerTally, job: JobRecord, end: string): void {
  if (end === 'done' || end === 'failed' || end === 'canceled') tally.jobs[end]++;
  const steps = job.progress?.step ?? 0;
  tally.steps += steps;
  if (steps > 0) tally.stepSeconds += (job.progress?.elapsedMs ?? 0) / 1000;
}
