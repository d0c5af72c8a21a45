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

/** The one button that fixes or retries a problem. */
export type ProblemAction =
  | { kind: 'retry-connect'; label: 'Retry' }
  | { kind: 'open-server'; label: 'Open server settings' }
  | { kind: 'blend-again'; label: 'Blend again' | 'Retry' }
  | { kind: 'refresh-models'; label: 'Refresh models' }
  | { kind: 'set-steps'; label: string; value: number }
  | { kind: 'set-working-size'; label: string; value: number };

/** A problem worth showing: what happened, what to do about it, and a button that does it. */
export interface Problem {
  message: string;
  advice: string;
  action?: ProblemAction;
  /** The id of the form control at fault, highlighted by its label. */
  field?: string;
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
  /** Server-measured milliseconds of the run so far (from step events). */
  elapsedMs?: number;
  /** Steps the job will run, from its settings: for the queue's wait estimate. */
  expectedSteps: number;
  /** A data: URL of the latest step preview. */
  preview?: string;
  seed?: number;
  resultName?: string;
  /** The placed result layer. */
  nodeId?: string;
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
