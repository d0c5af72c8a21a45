import type { EditSettings, EndReason, ErrorBody, Job, JobState, Progress } from '@pixels/shared';
import type { EditInputs } from '../edit/edit-runner.ts';
import { JobEventLog } from './job-event-log.ts';
import type { StoredResult } from './result-store.ts';

/** The finished image of a job, kept on disk until the job expires. */
export interface JobResult extends StoredResult {
  width: number;
  height: number;
  /** Time the engine spent (decode, loop, encode); the rest of a round trip is server overhead. */
  engineMs: number;
}

/** Where a job's resources live on the wire, relative to the server root. */
export function jobUrl(id: string): string {
  return `/v1/jobs/${id}`;
}
export function eventsUrl(id: string): string {
  return `/v1/jobs/${id}/events`;
}
export function resultUrl(id: string): string {
  return `/v1/jobs/${id}/result`;
}

/** Bytes of a request's encoded images: what a queued job holds in memory. */
export function inputByteCount(inputs: EditInputs): number {
  return (
    inputs.source.byteLength +
    inputs.exemplars.reduce((sum, exemplar) => sum + exemplar.byteLength, 0) +
    (inputs.map?.byteLength ?? 0)
  );
}

/** One job as the queue holds it: wire state plus the inputs, result and cancel switch. */
export class JobRecord {
  state: JobState = 'queued';
  /** 1-based place in the fair queue while queued. */
  position: number | undefined;
  progress: Progress | undefined;
  seed: number | undefined;
  readonly createdAt: number;
  startedAt: number | undefined;
  finishedAt: number | undefined;
  error: ErrorBody['error'] | undefined;
  /** Why a failed or canceled job ended. */
  reason: EndReason | undefined;
  /** Who or what asked for the cancel, set before `abort` fires. */
  cancelReason: EndReason | undefined;
  result: JobResult | undefined;
  /** Dropped once the run ends, so a finished job holds only its result (on disk). */
  inputs: EditInputs | undefined;
  /** Bytes of the inputs, counted against the queue's byte caps while they are held. */
  readonly inputBytes: number;
  /** Runs started: a job whose worker died is retried once. */
  attempts = 0;
  /** Completed downloads of the result (shutdown waits for results finished during the drain). */
  downloads = 0;
  readonly events = new JobEventLog();
  readonly abort = new AbortController();

  constructor(
    readonly id: string,
    /** The token name that submitted the job: only it (or an admin) may read or cancel it. */
    readonly owner: string,
    readonly settings: EditSettings,
    inputs: EditInputs | undefined,
    now: number,
    /** Given when the inputs are held elsewhere (the Redis engine keeps them in Redis). */
    inputBytes = inputs ? inputByteCount(inputs) : 0,
  ) {
    this.inputs = inputs;
    this.inputBytes = inputBytes;
    this.createdAt = now;
  }

  get isFinished(): boolean {
    return this.state === 'done' || this.state === 'failed' || this.state === 'canceled';
  }

  /** The wire view (`Job` in @pixels/shared). */
  toJob(): Job {
    const iso = (time: number | undefined) => (time === undefined ? undefined : new Date(time).toISOString());
    return {
      id: this.id,
      state: this.state,
      ...(this.state === 'queued' && this.position !== undefined ? { position: this.position } : {}),
      ...(this.progress ? { progress: this.progress } : {}),
      settings: this.settings,
      ...(this.seed !== undefined ? { seed: this.seed } : {}),
      createdAt: iso(this.createdAt)!,
      ...(this.startedAt !== undefined ? { startedAt: iso(this.startedAt) } : {}),
      ...(this.finishedAt !== undefined ? { finishedAt: iso(this.finishedAt) } : {}),
      ...(this.state === 'done' ? { resultUrl: resultUrl(this.id) } : {}),
      ...(this.error ? { error: this.error } : {}),
      ...(this.reason ? { reason: this.reason } : {}),
    };
  }
}
