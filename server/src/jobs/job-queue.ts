import { type EditSettings, type EndReason, type JobState, PixelsError } from '@pixels/shared';
import type { EditInputs, EditRunner } from '../edit/edit-runner.ts';
import { JobMetrics } from '../observability/job-metrics.ts';
import { type Logger, silentLogger } from '../observability/logger.ts';
import { newJobId } from './job-id.ts';
import { inputByteCount, JobRecord } from './job-record.ts';
import type { ResultStore } from './result-store.ts';
import { RoundRobinQueue } from './round-robin-queue.ts';
import { type RunEnd, runJob } from './run-job.ts';

/** What the queue holds at most; the defaults live with the other server limits (http/server-limits.ts). */
export interface QueueLimits {
  /** Jobs waiting to start, all users together. */
  maxQueued: number;
  /** Jobs one user may have waiting or running at once. */
  maxQueuedPerUser: number;
  /** Bytes of encoded input images held by queued and running jobs, all users together. */
  maxQueuedInputBytes: number;
  /** The same, for one user. */
  maxQueuedInputBytesPerUser: number;
  /** Bytes of finished results kept (on disk), all users together. */
  maxResultBytes: number;
  /** The same, for one user. */
  maxResultBytesPerUser: number;
}

export interface JobQueueOptions {
  /** One worker per runner (one runner per device); each runs one job at a time. */
  runners: readonly EditRunner[];
  limits: QueueLimits;
  /** Where finished results are kept until they expire. */
  results: ResultStore;
  /** How long a finished job and its result are kept before both are deleted. Default one hour. */
  retentionMs?: number;
  logger?: Logger;
  metrics?: JobMetrics;
  /** Told the number of running jobs whenever it changes (the event-loop monitor watches only while jobs run). */
  onRunningChange?: (running: number) => void;
}

export interface QueueStats {
  workers: number;
  /** Workers with a live thread right now (a dead one is being replaced). */
  liveWorkers: number;
  queued: number;
  running: number;
  /** Jobs held right now (finished ones until they expire), by state. */
  byState: Record<JobState, number>;
  /** Bytes of input images held by queued and running jobs. */
  queuedInputBytes: number;
  /** Bytes of results kept on disk. */
  resultBytes: number;
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

/** The in-process job queue: fair between users, bounded in jobs and bytes, cancellable, with expiring results. */
export interface JobQueue {
  /** Queues an edit for `owner` (a token name); throws QueueFullError, or PixelsError('not_ready' | 'payload_too_large'). */
  submit(owner: string, settings: EditSettings, inputs: EditInputs): JobRecord;
  /** Throws what `submit` would for a request of `inputBytes` bytes, before its images are read in full. */
  checkAdmission(owner: string, inputBytes: number): void;
  find(id: string): JobRecord | undefined;
  /**
   * Cancels a job for `by` (owner or admin): a queued one at once; a running one is told to stop
   * and awaited (it stops within one step) for at most `waitMs`. A finished job is deleted with its result.
   */
  cancel(id: string, by?: EndReason, waitMs?: number): Promise<JobRecord | undefined>;
  stats(): QueueStats;
  readonly isDraining: boolean;
  /**
   * Refuses new jobs, cancels queued ones, lets running ones finish until `deadlineMs`, then
   * cancels them; then waits (until the same deadline) for the results finished during the
   * drain to be downloaded once.
   */
  drain(deadlineMs: number): Promise<void>;
}

const DEFAULT_RETENTION_MS = 60 * 60 * 1000;
/** Assumed job length for Retry-After until a job has been timed. */
const ASSUMED_JOB_SECONDS = 10;
/** How long a canceled running job may take to stop during shutdown. */
const ABORT_GRACE_MS = 10_000;
const MIB = 1024 * 1024;

function delay(ms: number): Promise<'timeout'> {
  return new Promise((resolve) => setTimeout(() => resolve('timeout'), ms).unref());
}

function mib(bytes: number): string {
  return `${(bytes / MIB).toFixed(bytes < 10 * MIB ? 1 : 0)} MiB`;
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
  /** Jobs whose inputs are held (queued or running), for the byte caps. */
  private readonly holdingInputs = new Set<JobRecord>();
  /** Finished jobs with a result on disk. */
  private readonly withResults = new Set<JobRecord>();
  /** Results finished during a drain, kept fetchable until each is downloaded once or the deadline passes. */
  private readonly drainPickups = new Set<JobRecord>();
  private pumpScheduled = false;
  private draining = false;

  constructor(private readonly options: JobQueueOptions) {
    if (options.runners.length === 0) throw new Error('createJobQueue needs at least one runner');
    this.idleRunners = [...options.runners];
    this.limits = options.limits;
    this.retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS;
    this.logger = options.logger ?? silentLogger;
    this.metrics = options.metrics ?? new JobMetrics();
  }

  get isDraining(): boolean {
    return this.draining;
  }

  submit(owner: string, settings: EditSettings, inputs: EditInputs): JobRecord {
    this.checkAdmission(owner, inputByteCount(inputs));
    const job = new JobRecord(newJobId(), owner, settings, inputs, Date.now());
    this.jobs.set(job.id, job);
    this.holdingInputs.add(job);
    this.waiting.push(owner, job);
    this.announcePositions();
    this.logger.info('job queued', {
      jobId: job.id,
      owner,
      position: job.position,
      model: settings.model,
      steps: settings.steps,
      exemplars: inputs.exemplars.length,
      inputBytes: job.inputBytes,
    });
    this.schedulePump();
    return job;
  }

  find(id: string): JobRecord | undefined {
    return this.jobs.get(id);
  }

  async cancel(id: string, by: EndReason = 'owner', waitMs = 5000): Promise<JobRecord | undefined> {
    const job = this.jobs.get(id);
    if (!job) return undefined;
    if (job.state === 'queued') {
      this.waiting.remove(job);
      this.finishUnstarted(job, by);
      this.announcePositions();
    } else if (job.state === 'running') {
      job.cancelReason ??= by;
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
    return {
      workers: this.options.runners.length,
      liveWorkers: this.options.runners.filter((runner) => runner.isAlive).length,
      queued: this.waiting.size,
      running: this.running.size,
      byState,
      queuedInputBytes: this.sumInputBytes(),
      resultBytes: this.sumResultBytes(),
    };
  }

  async drain(deadlineMs: number): Promise<void> {
    const deadline = Date.now() + deadlineMs;
    this.draining = true;
    for (const job of this.waiting.order()) {
      this.waiting.remove(job);
      this.finishUnstarted(job, 'shutdown');
    }
    const allSettled = () => Promise.all(this.running.values()).then(() => 'settled' as const);
    if ((await Promise.race([allSettled(), delay(deadline - Date.now())])) === 'timeout') {
      this.logger.warn('shutdown deadline reached: canceling running jobs', { running: this.running.size });
      for (const job of this.running.keys()) {
        job.cancelReason ??= 'shutdown';
        job.abort.abort();
      }
      // A runner honours the abort between steps; one that does not answer is not waited for forever.
      if ((await Promise.race([allSettled(), delay(ABORT_GRACE_MS)])) === 'timeout') {
        this.logger.error('jobs did not stop after cancel; giving up on them', { running: this.running.size });
      }
    }
    while (this.pendingPickups() > 0 && Date.now() < deadline) await delay(Math.min(50, deadline - Date.now()));
    if (this.pendingPickups() > 0) {
      this.logger.warn('shutdown deadline reached with results not yet downloaded', {
        jobIds: [...this.drainPickups].filter((job) => job.downloads === 0).map((job) => job.id),
      });
    }
    for (const timer of this.expiryTimers.values()) clearTimeout(timer);
    this.expiryTimers.clear();
  }

  checkAdmission(owner: string, inputBytes: number): void {
    if (this.draining) {
      throw new PixelsError('not_ready', 'The server is shutting down and takes no new jobs; retry in a minute.');
    }
    const limits = this.limits;
    if (inputBytes > limits.maxQueuedInputBytesPerUser) {
      throw new PixelsError(
        'payload_too_large',
        `This edit's images are ${mib(inputBytes)}, more than one user may have queued on this server (${mib(limits.maxQueuedInputBytesPerUser)}); send smaller images (the frame at 1x), or ask the admin to raise --max-queued-input-bytes-per-user.`,
      );
    }
    const jobSeconds = this.metrics.runSeconds.mean ?? ASSUMED_JOB_SECONDS;
    const workers = this.options.runners.length;
    const owned = [...this.holdingInputs].filter((job) => job.owner === owner);
    const refuse = (message: string, retryAfterSeconds: number): never => {
      this.metrics.refused++;
      const seconds = Math.min(3600, Math.max(1, Math.ceil(retryAfterSeconds)));
      throw new QueueFullError(message.replace('{retry}', `about ${seconds} s`), seconds);
    };
    if (owned.length >= limits.maxQueuedPerUser) {
      refuse(
        `You already have ${owned.length} jobs queued or running, the most one user may have (${limits.maxQueuedPerUser}); wait for one to finish (in {retry}) or cancel one, then resend.`,
        this.secondsUntilFirstFinishes(owned, jobSeconds),
      );
    }
    const ownedBytes = owned.reduce((sum, job) => sum + job.inputBytes, 0);
    if (ownedBytes + inputBytes > limits.maxQueuedInputBytesPerUser) {
      refuse(
        `Your queued and running edits hold ${mib(ownedBytes)} of images; with this one (${mib(inputBytes)}) that is over the ${mib(limits.maxQueuedInputBytesPerUser)} one user may have queued. Wait for one to finish (in {retry}) and resend.`,
        this.secondsUntilFirstFinishes(owned, jobSeconds),
      );
    }
    const totalBytes = this.sumInputBytes();
    if (totalBytes + inputBytes > limits.maxQueuedInputBytes) {
      refuse(
        `The server's queue holds ${mib(totalBytes)} of images, and this edit (${mib(inputBytes)}) would pass its limit of ${mib(limits.maxQueuedInputBytes)}; retry in {retry}.`,
        jobSeconds / workers,
      );
    }
    const ownedResults = [...this.withResults].filter((job) => job.owner === owner);
    const ownedResultBytes = ownedResults.reduce((sum, job) => sum + job.result!.bytes, 0);
    if (ownedResultBytes >= limits.maxResultBytesPerUser) {
      refuse(
        `The server keeps ${mib(ownedResultBytes)} of your finished results, the most it keeps for one user (${mib(limits.maxResultBytesPerUser)}); download them and delete the jobs (DELETE /v1/jobs/:id), or wait for the oldest to expire (in {retry}).`,
        this.secondsUntilFirstExpires(ownedResults),
      );
    }
    const resultBytes = this.sumResultBytes();
    if (resultBytes >= limits.maxResultBytes) {
      refuse(
        `The server keeps ${mib(resultBytes)} of finished results, its limit (${mib(limits.maxResultBytes)}); retry in {retry}, when the oldest expire.`,
        this.secondsUntilFirstExpires([...this.withResults]),
      );
    }
    // Fair admission: a user may take a free slot only while they have fewer jobs waiting than
    // there are free slots, so the last free slot always goes to someone with nothing waiting.
    const free = limits.maxQueued - this.waiting.size;
    const waitingOwned = this.waiting.sizeOf(owner);
    if (free <= 0 || waitingOwned >= free) {
      const startsNeeded = Math.max(1, waitingOwned + 1 - Math.max(0, free));
      const seconds = Math.ceil(startsNeeded / workers) * jobSeconds;
      refuse(
        free <= 0
          ? `The server's queue is full (${this.waiting.size} jobs waiting, the limit is ${limits.maxQueued}); retry in {retry}.`
          : `The server's queue is nearly full (${free} of ${limits.maxQueued} places left) and you already have ${waitingOwned} jobs waiting; the last places are kept for users with fewer. Retry in {retry}.`,
        seconds,
      );
    }
  }

  /** When the first of `jobs` (queued or running) should finish: from its place and the measured job time. */
  private secondsUntilFirstFinishes(jobs: readonly JobRecord[], jobSeconds: number): number {
    const workers = this.options.runners.length;
    const now = Date.now();
    let best = Number.POSITIVE_INFINITY;
    for (const job of jobs) {
      if (job.state === 'running') {
        best = Math.min(best, Math.max(1, jobSeconds - (now - job.startedAt!) / 1000));
      } else if (job.position !== undefined) {
        best = Math.min(best, (Math.ceil(job.position / workers) + 0.5) * jobSeconds);
      }
    }
    return Number.isFinite(best) ? best : jobSeconds;
  }

  private secondsUntilFirstExpires(jobs: readonly JobRecord[]): number {
    const now = Date.now();
    const first = Math.min(...jobs.map((job) => (job.finishedAt ?? now) + this.retentionMs));
    return Number.isFinite(first) ? (first - now) / 1000 : 60;
  }

  private sumInputBytes(): number {
    let sum = 0;
    for (const job of this.holdingInputs) sum += job.inputBytes;
    return sum;
  }

  private sumResultBytes(): number {
    let sum = 0;
    for (const job of this.withResults) sum += job.result!.bytes;
    return sum;
  }

  private pendingPickups(): number {
    let pending = 0;
    for (const job of this.drainPickups) if (job.downloads === 0 && this.jobs.has(job.id)) pending++;
    return pending;
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
      let end: RunEnd = 'failed';
      const run = runJob(job, runner, {
        logger: this.logger.child({ worker }),
        metrics: this.metrics,
        results: this.options.results,
        mayRetry: (retried) => retried.attempts < 2 && !this.draining,
      })
        .then((how) => {
          end = how;
        })
        .catch((error: unknown) => this.logger.error('job bookkeeping failed', { jobId: job.id, error }))
        .finally(() => {
          // Release the worker whatever happened, then look for more work.
          this.running.delete(job);
          this.options.onRunningChange?.(this.running.size);
          this.idleRunners.push(runner);
          if (end === 'retry') {
            this.waiting.pushFront(job.owner, job);
            this.announcePositions();
          } else {
            this.afterFinish(job);
          }
          if (!this.draining || end === 'retry') this.pump();
        });
      this.running.set(job, run);
      this.options.onRunningChange?.(this.running.size);
      started = true;
    }
    if (started) this.announcePositions();
  }

  private afterFinish(job: JobRecord): void {
    this.holdingInputs.delete(job);
    if (job.result) {
      this.withResults.add(job);
      if (this.draining) this.drainPickups.add(job);
    }
    this.scheduleExpiry(job);
  }

  /** Tells every queued job whose place changed where it now stands (a `queued` event). */
  private announcePositions(): void {
    this.waiting.order().forEach((job, index) => {
      if (job.position === index + 1) return;
      job.position = index + 1;
      job.events.append({ type: 'queued', position: job.position });
    });
  }

  private finishUnstarted(job: JobRecord, reason: EndReason): void {
    const now = Date.now();
    job.state = 'canceled';
    job.reason = reason;
    job.position = undefined;
    job.finishedAt = now;
    job.inputs = undefined;
    job.events.append({ type: 'canceled', reason });
    this.metrics.finished.canceled++;
    this.metrics.waitSeconds.observe((now - job.createdAt) / 1000);
    this.logger.info('job canceled while queued', {
      jobId: job.id,
      owner: job.owner,
      reason,
      waitMs: now - job.createdAt,
    });
    this.afterFinish(job);
  }

  private scheduleExpiry(job: JobRecord): void {
    if (this.draining) return; // everything goes when the process stops
    const timer = setTimeout(() => this.expire(job.id), this.retentionMs);
    timer.unref();
    this.expiryTimers.set(job.id, timer);
  }

  private expire(id: string): void {
    clearTimeout(this.expiryTimers.get(id));
    this.expiryTimers.delete(id);
    const job = this.jobs.get(id);
    if (!job) return;
    this.jobs.delete(id);
    this.withResults.delete(job);
    if (job.result) void this.options.results.remove(job.result);
    this.logger.debug('job expired', { jobId: id });
  }
}
