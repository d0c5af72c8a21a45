import type { JobState } from '@pixels/shared';
import { Histogram, renderLabelled } from './prometheus.ts';

type FinalState = Extract<JobState, 'done' | 'failed' | 'canceled'>;

const STEP_BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const JOB_BOUNDS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

/** Durations and counts the queue records as jobs run; `/metrics` renders them. */
export class JobMetrics {
  readonly stepSeconds = new Histogram('pixels_step_duration_seconds', 'Time of one denoising step.', STEP_BOUNDS);
  readonly runSeconds = new Histogram(
    'pixels_job_run_duration_seconds',
    'Time from a job starting to it finishing (any final state).',
    JOB_BOUNDS,
  );
  readonly waitSeconds = new Histogram(
    'pixels_job_wait_duration_seconds',
    'Time a job waited in the queue before it started or was canceled.',
    JOB_BOUNDS,
  );
  readonly finished: Record<FinalState, number> = { done: 0, failed: 0, canceled: 0 };
  /** Submissions refused because a queue limit was reached. */
  refused = 0;

  render(): string[] {
    return [
      ...this.stepSeconds.render(),
      ...this.runSeconds.render(),
      ...this.waitSeconds.render(),
      ...renderLabelled('pixels_jobs_finished_total', 'Jobs that reached a final state.', 'counter', 'state', {
        ...this.finished,
      }),
      ...renderLabelled('pixels_jobs_refused_total', 'Submissions refused with 429.', 'counter', 'reason', {
        queue_full: this.refused,
      }),
    ];
  }
}
