import type { BlendTimings } from '../../messages/blend-timings.ts';

export type JobPhase =
  | 'uploading'
  | 'queued'
  | 'running'
  | 'downloading'
  | 'placing'
  | 'placed'
  | 'failed'
  | 'canceled';

/** A problem worth showing: what happened and what to do about it. */
export interface Problem {
  message: string;
  advice: string;
}

/** What the panel shows about one job. */
export interface JobView {
  key: string;
  label: string;
  phase: JobPhase;
  jobId?: string;
  /** 1-based place in the server's queue while queued. */
  position?: number;
  step?: number;
  totalSteps?: number;
  /** A data: URL of the latest step preview. */
  preview?: string;
  seed?: number;
  resultName?: string;
  problem?: Problem;
  notes: string[];
  timings?: BlendTimings;
}

export type SessionPhase = 'idle' | 'exporting' | 'preparing' | 'running' | 'finished';

/** What the panel shows about the current blend (all its variations) or resumed jobs. */
export interface SessionView {
  phase: SessionPhase;
  jobs: JobView[];
  problem?: Problem;
  notes: string[];
}

export function isActive(phase: JobPhase): boolean {
  return (
    phase === 'uploading' || phase === 'queued' || phase === 'running' || phase === 'downloading' || phase === 'placing'
  );
}
