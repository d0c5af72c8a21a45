import { type EditSettings, type JobState, PixelsError } from '@pixels/shared';
import type { EditInputs, EditRunner } from '../edit/edit-runner.ts';
import { newJobId } from './job-id.ts';
import { JobMetrics } from './job-metrics.ts';
import { JobRecord } from './job-record.ts';
import { type Logger, silentLogger } from './logger.ts';
import { RoundRobinQueue } from './round-robin-queue.ts';
import { runJob } from './run-job.ts';

export interface QueueLimits {
  /** Jobs waiting to start, all users together. Default 100. */
  maxQueued: number;
  /** Jobs one user may have waiting or running at once. Default 10. */
  maxQueuedPerUser: number;
}

export const DEFAULT_QUEUE_LIMITS: Readonly<QueueLimits> = Object.freeze({ maxQueued: 100, maxQueuedPerUser: 10 });

export interface JobQueueOptions {
  /** One worker per runner (one runner per device); each runs one job at a time. */
  runners: readonly EditRunner[];
  limits?: QueueLimits;
  /** How long a finished job and its result are kept before both are deleted. Default one hour. */
  retentionMs?: number;
  logger?: Logger;
  metrics?: JobMetrics;
  /** Told the number of running jobs whenever it changes (the event-loop monitor watches only while jobs run). */
  onRunningChange?: (running: number) => void;
}

export interface QueueStats {
  workers: number;
  queued: number;
  running: number;
  /** Jobs held right now (finished ones until they expire), by state. */
  byState: Record<JobState, number>;
}

/** A refused submission; `retryAfterSeconds` becomes the 429's Retry-After header. */
export class QueueFullError extends PixelsError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super('queue_full', message);
  }
}

/** The in-process job queue: fair between users, bounded, cancellable, with expiring results. */
export interface JobQueue {
  /** Queues an edit for `owner` (a token name); throws QueueFullError or PixelsError('not_ready'). */
  submit(owner: string, settings: EditSettings, inputs: EditInputs): JobRecord;
  find(id: string): JobRecord | undefined;
  /**
   * Cancels a job: a queued one at once; a running one is told to stop and awaited (it stops
   * within one step) for at most `waitMs`. A finished job is deleted with its result.
   */
  cancel(id: string, waitMs?: number): Promise<JobRecord | undefined>;
  stats(): QueueStats;
  readonly isDraining: boolean;
  /** Refuses new jobs, cancels queued ones, lets running ones finish until `deadlineMs`, then cancels them. */
  drain(deadlineMs: number): Promise<void>;
}

const DEFAULT_RETENTION_MS = 60 * 60 * 1000;
/** Assumed job length for Retry-After until a job has been timed. */
const ASSUMED_JOB_SECONDS = 10;
/** How long a canceled running job may take to stop during shutdown. */
const ABORT_GRACE_MS = 10_000;

function delay(ms: number): Promise<'timeout'> {
  return new Promise((resolve) => setTimeout(() => resolve('timeout'), ms).unref());
}

export function createJobQueue(options: JobQueueOptions): JobQueue {
  return new InProcessJobQueue(options);
}

class InProcessJobQueue implements JobQueue {
  private readonly jobs = new Map<string, JobRecord>();
  private readonly waiting = new RoundRobinQueue<JobRecord>();
  private readonly running = new Map<JobRecord, Promise<void>>();
  private readonly idleRunners: EditRunner[];
  private readonly expiryTimers = new Map<string, NodeJS.Timeout>();
  private readonly limits: QueueLimits;
  private readonly retentionMs: number;
  private readonly logger: Logger;
  private readonly metrics: JobMetrics;
  private pumpScheduled = false;
  private draining = false;

  constructor(private readonly options: JobQueueOptions) {
    if (options.runners.length === 0) throw new Error('createJobQueue needs at least one runner');
    this.idleRunners = [...options.runners];
    this.limits = options.limits ?? DEFAULT_QUEUE_LIMITS;
    this.retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS;
    this.logger = options.logger ?? silentLogger;
    this.metrics = options.metrics ?? new JobMetrics();
  }

  get isDraining(): boolean {
    return this.draining;
  }

  submit(owner: string, settings: EditSettings, inputs: EditInputs): JobRecord {
    if (this.draining) {
      throw new PixelsError('not_ready', 'The server is shutting down and takes no new jobs; retry in a minute.');
    }
    this.refuseOverLimits(owner);
    const job = new JobRecord(newJobId(), owner, settings, inputs, Date.now());
    this.jobs.set(job.id, job);
    this.waiting.push(owner, job);
    this.announcePositions();
    this.logger.info('job queued', {
      jobId: job.id,
      owner,
      position: job.position,
      model: settings.model,
      steps: settings.steps,
      exemplars: inputs.exemplars.length,
    });
    this.schedulePump();
    return job;
  }

  find(id: string): JobRecord | undefined {
    return this.jobs.get(id);
  }

  async cancel(id: string, waitMs = 5000): Promise<JobRecord | undefined> {
    const job = this.jobs.get(id);
    if (!job) return undefined;
    if (job.state === 'queued') {
      this.waiting.remove(job);
      this.finishUnstarted(job, 'canceled by its owner');
      this.announcePositions();
    } else if (job.state === 'running') {
      job.abort.abort();
      await Promise.race([this.running.get(job), delay(waitMs)]);
    } else {
      this.expire(job.id);
    }
    return job;
  }

  stats(): QueueStats {
    const byState: Record<JobState, number> = { queued: 0, running: 0, done: 0, failed: 0, canceled: 0 };
    for (const job of this.jobs.values()) byState[job.state]++;
    return { workers: this.options.runners.length, queued: this.waiting.size, running: this.running.size, byState };
  }

  async drain(deadlineMs: number): Promise<void> {
    this.draining = true;
    for (const job of this.waiting.order()) {
      this.waiting.remove(job);
      this.finishUnstarted(job, 'canceled by server shutdown');
    }
    const allSettled = () => Promise.all(this.running.values()).then(() => 'settled' as const);
    if ((await Promise.race([allSettled(), delay(deadlineMs)])) === 'timeout') {
      this.logger.warn('shutdown deadline reached: canceling running jobs', { running: this.running.size });
      for (const job of this.running.keys()) job.abort.abort();
      // A runner honours the abort between steps; one that does not answer is not waited for forever.
      if ((await Promise.race([allSettled(), delay(ABORT_GRACE_MS)])) === 'timeout') {
        this.logger.error('jobs did not stop after cancel; giving up on them', { running: this.running.size });
      }
    }
    for (const timer of this.expiryTimers.values()) clearTimeout(timer);
    this.expiryTimers.clear();
  }

  private refuseOverLimits(owner: string): void {
    let ownedRunning = 0;
    for (const job of this.running.keys()) if (job.owner === owner) ownedRunning++;
    const owned = this.waiting.sizeOf(owner) + ownedRunning;
    const jobSeconds = this.metrics.runSeconds.mean ?? ASSUMED_JOB_SECONDS;
    if (owned >= this.limits.maxQueuedPerUser) {
      this.metrics.refused++;
      throw new QueueFullError(
        `You already have ${owned} jobs queued or running, the most one user may have (${this.limits.maxQueuedPerUser}); wait for one to finish or cancel one, then resend.`,
        Math.max(1, Math.ceil(jobSeconds)),
      );
    }
    if (this.waiting.size >= this.limits.maxQueued) {
      this.metrics.refused++;
      const rounds = Math.ceil(this.waiting.size / this.options.runners.length);
      const retryAfter = Math.min(3600, Math.max(1, Math.ceil(jobSeconds * Math.min(rounds, 10))));
      throw new QueueFullError(
        `The server's queue is full (${this.waiting.size} jobs waiting, the limit is ${this.limits.maxQueued}); retry in about ${retryAfter} s.`,
        retryAfter,
      );
    }
  }

  /** Starts waiting jobs on idle workers; batched so a submit returns while its job is still queued. */
  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    let started = false;
    while (this.idleRunners.length > 0 && this.waiting.size > 0) {
      const job = this.waiting.shift()!;
      const runner = this.idleRunners.shift()!;
      const worker = this.options.runners.indexOf(runner);
      const run = runJob(job, runner, { logger: this.logger.child({ worker }), metrics: this.metrics })
        .catch((error: unknown) => this.logger.error('job bookkeeping failed', { jobId: job.id, error }))
        .finally(() => {
          // Release the worker whatever happened, then look for more work.
          this.running.delete(job);
          this.options.onRunningChange?.(this.running.size);
          this.idleRunners.push(runner);
          this.scheduleExpiry(job);
          if (!this.draining) this.pump();
        });
      this.running.set(job, run);
      this.options.onRunningChange?.(this.running.size);
      started = true;
    }
    if (started) this.announcePositions();
  }

  /** Tells every queued job whose place changed where it now stands (a `queued` event). */
  private announcePositions(): void {
    this.waiting.order().forEach((job, index) => {
      if (job.position === index + 1) return;
      job.position = index + 1;
      job.events.append({ type: 'queued', position: job.position });
    });
  }

  private finishUnstarted(job: JobRecord, reason: string): void {
    const now = Date.now();
    job.state = 'canceled';
    job.position = undefined;
    job.finishedAt = now;
    job.inputs = undefined;
    job.events.append({ type: 'canceled' });
    this.metrics.finished.canceled++;
    this.metrics.waitSeconds.observe((now - job.createdAt) / 1000);
    this.logger.info('job canceled while queued', {
      jobId: job.id,
      owner: job.owner,
      reason,
      waitMs: now - job.createdAt,
    });
    this.scheduleExpiry(job);
  }

  private scheduleExpiry(job: JobRecord): void {
    const timer = setTimeout(() => this.expire(job.id), this.retentionMs);
    timer.unref();
    this.expiryTimers.set(job.id, timer);
  }

  private expire(id: string): void {
    clearTimeout(this.expiryTimers.get(id));
    this.expiryTimers.delete(id);
    if (this.jobs.delete(id)) this.logger.debug('job expired', { jobId: id });
  }
}
