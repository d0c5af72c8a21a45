import type { EditSettings, EndReason, JobState, WorkerStatus } from '@pixels/shared';
import type { EditInputs, EditRunner } from '../edit/edit-runner.ts';
import { JobMetrics } from '../observability/job-metrics.ts';
import { type Logger, silentLogger } from '../observability/logger.ts';
import { ASKING_WINDOW_MS, checkAdmissionFacts, type QueueLimits } from './admission.ts';
import { newJobId } from './job-id.ts';
import { inputByteCount, JobRecord } from './job-record.ts';
import type { ResultStore } from './result-store.ts';
import { RoundRobinQueue } from './round-robin-queue.ts';
import { type RunEnd, runJob } from './run-job.ts';
import { countRun, newWorkerTally, type WorkerTally } from './worker-tally.ts';

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
  /** Each runner's device and models, in `runners` order, for GET /v1/workers (default: unknown). */
  runnerInfo?: readonly { device: string; models: string[] }[];
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

export { QueueFullError, type QueueLimits } from './admission.ts';

/** What a queue may answer now or later: the in-process queue answers at once, the Redis one after a round trip. */
export type MaybePromise<T> = T | Promise<T>;

/**
 * The job queue the HTTP layer talks to: fair between users, bounded in jobs and bytes,
 * cancellable, with expiring results. Two engines implement it: in-process (createJobQueue, the
 * default) and Redis (jobs/redis/, many API nodes and worker processes).
 */
export interface JobQueue {
  /** Queues an edit for `owner` (a token name); throws QueueFullError, or PixelsError('not_ready' | 'payload_too_large'). */
  submit(owner: string, settings: EditSettings, inputs: EditInputs): MaybePromise<JobRecord>;
  /** Throws what `submit` would for a request of `inputBytes` bytes, before its images are read in full. */
  checkAdmission(owner: string, inputBytes: number): MaybePromise<void>;
  /** The job as it stands now; its `events` log goes on receiving the job's events until it finishes. */
  find(id: string): MaybePromise<JobRecord | undefined>;
  /**
   * Cancels a job for `by` (owner or admin): a queued one at once; a running one is told to stop
   * and awaited (it stops within one step) for at most `waitMs`. A finished job is deleted with its result.
   */
  cancel(id: string, by?: EndReason, waitMs?: number): Promise<JobRecord | undefined>;
  stats(): MaybePromise<QueueStats>;
  /** The workers that take this queue's jobs (GET /v1/workers, /metrics). */
  workers(): MaybePromise<WorkerStatus[]>;
  readonly isDraining: boolean;
  /**
   * Refuses new jobs, cancels queued ones, lets running ones finish until `deadlineMs`, then
   * cancels them; then waits (until the same deadline) for the results finished during the
   * drain to be downloaded once.
   */
  drain(deadlineMs: number): Promise<void>;
}

/** The in-process engine answers at once: what its callers (and the tests) rely on. */
export interface InProcessJobQueue extends JobQueue {
  submit(owner: string, settings: EditSettings, inputs: EditInputs): JobRecord;
  checkAdmission(owner: string, inputBytes: number): void;
  find(id: string): JobRecord | undefined;
  stats(): QueueStats;
  workers(): WorkerStatus[];
}

/** Workers say they are alive this often; one silent for three beats is listed as lost. */
export const WORKER_HEARTBEAT = Object.freeze({ heartbeatMs: 2000, lostAfterMs: 6000 });

const DEFAULT_RETENTION_MS = 60 * 60 * 1000;
/** Assumed job length for Retry-After until a job has been timed. */
const ASSUMED_JOB_SECONDS = 10;
/** How long a canceled running job may take to stop during shutdown. */
const ABORT_GRACE_MS = 10_000;

function delay(ms: number): Promise<'timeout'> {
  return new Promise((resolve) => setTimeout(() => resolve('timeout'), ms).unref());
}

/** The in-process queue: jobs, events and results live in this process (results on disk). */
export function createJobQueue(options: JobQueueOptions): InProcessJobQueue {
  return new LocalJobQueue(options);
}

class LocalJobQueue implements InProcessJobQueue {
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
  /** Which runner each running job is on, and what each runner has done (GET /v1/workers). */
  private readonly runningOn = new Map<JobRecord, EditRunner>();
  private readonly runnerTallies: WorkerTally[];
  /** When each user last asked for a place (admitted or not), for the fair share. */
  private readonly askedAt = new Map<string, number>();
  private pumpScheduled = false;
  private draining = false;

  constructor(private readonly options: JobQueueOptions) {
    if (options.runners.length === 0) throw new Error('createJobQueue needs at least one runner');
    this.idleRunners = [...options.runners];
    this.runnerTallies = options.runners.map(() => newWorkerTally());
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

  workers(): WorkerStatus[] {
    const now = new Date().toISOString();
    return this.options.runners.map((runner, index) => {
      const current = [...this.runningOn].find(([, on]) => on === runner)?.[0];
      const tally = this.runnerTallies[index];
      return {
        name: `local-${index + 1}`,
        devices: [this.options.runnerInfo?.[index]?.device ?? 'unknown'],
        models: this.options.runnerInfo?.[index]?.models ?? [],
        ...(current ? { currentJob: current.id } : {}),
        lastHeartbeatAt: now,
        state: runner.isAlive ? 'live' : 'lost',
        jobs: { ...tally.jobs },
        steps: tally.steps,
        stepSeconds: tally.stepSeconds,
      };
    });
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
    const jobSeconds = this.metrics.runSeconds.mean ?? ASSUMED_JOB_SECONDS;
    const owned = [...this.holdingInputs].filter((job) => job.owner === owner);
    const ownedResults = [...this.withResults].filter((job) => job.owner === owner);
    checkAdmissionFacts(
      {
        isDraining: this.draining,
        inputBytes,
        jobSeconds,
        workers: this.options.runners.length,
        ownedJobs: owned.length,
        ownedInputBytes: owned.reduce((sum, job) => sum + job.inputBytes, 0),
        totalInputBytes: this.sumInputBytes(),
        ownedResultBytes: ownedResults.reduce((sum, job) => sum + job.result!.bytes, 0),
        totalResultBytes: this.sumResultBytes(),
        waiting: this.waiting.size,
        waitingOwned: this.waiting.sizeOf(owner),
        activeUsers: this.activeUsers(owner),
        secondsUntilOwnedFinishes: () => this.secondsUntilFirstFinishes(owned, jobSeconds),
        secondsUntilOwnedResultExpires: () => this.secondsUntilFirstExpires(ownedResults),
        secondsUntilAnyResultExpires: () => this.secondsUntilFirstExpires([...this.withResults]),
      },
      this.limits,
      () => {
        this.metrics.refused++;
      },
    );
  }

  /** Users with jobs waiting or who asked for a place within the window, `owner` (asking now) included. */
  private activeUsers(owner: string): number {
    const now = Date.now();
    this.askedAt.delete(owner);
    this.askedAt.set(owner, now);
    // Oldest first (re-inserted on each ask): drop those past the window.
    for (const [user, at] of this.askedAt) {
      if (now - at <= ASKING_WINDOW_MS) break;
      this.askedAt.delete(user);
    }
    return new Set([...this.waiting.waitingOwners, ...this.askedAt.keys()]).size;
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
      this.runningOn.set(job, runner);
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
          this.runningOn.delete(job);
          countRun(this.runnerTallies[worker], job, end);
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
