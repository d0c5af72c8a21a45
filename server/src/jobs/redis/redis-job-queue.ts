import {
  type EditSettings,
  type EndReason,
  type JobState,
  type ModelSummary,
  PixelsError,
  type WorkerStatus,
} from '@pixels/shared';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { EditInputs } from '../../edit/edit-runner.ts';
import { JobMetrics } from '../../observability/job-metrics.ts';
import { type Logger, silentLogger } from '../../observability/logger.ts';
import { ASKING_WINDOW_MS, checkAdmissionFacts, QueueFullError } from '../admission.ts';
import type { SequencedEvent } from '../job-event-log.ts';
import { newJobId } from '../job-id.ts';
import { type JobQueue, type QueueLimits, type QueueStats, WORKER_HEARTBEAT } from '../job-queue.ts';
import { inputByteCount, JobRecord } from '../job-record.ts';
import { bullConnection, connectForRequests, connectPatiently } from './redis-connection.ts';
import { type JobSnapshot, RedisJobStore } from './redis-job-store.ts';
import { modelQueueName, redisKeys } from './redis-keys.ts';
import { RedisResultReader } from './redis-result-reader.ts';
import { ATTEMPTS } from './redis-worker.ts';

export interface RedisJobQueueOptions {
  redisUrl: string;
  limits: QueueLimits;
  /** How long a finished job and its result are kept. Default one hour. */
  retentionMs?: number;
  logger?: Logger;
  metrics?: JobMetrics;
  /** How often this node expires results, notices jobs whose worker was lost, and announces positions. Default 1 s. */
  sweepMs?: number;
}

/** A job this node follows: its record gets the job's events from Redis while someone looks at it. */
interface FollowedJob {
  ready: Promise<JobRecord | undefined>;
  record?: JobRecord;
  /** Messages that arrived before the snapshot was read. */
  early: SequencedEvent[];
  /** Applies messages one after the other. */
  chain: Promise<void>;
  lastUsed: number;
}

const ASSUMED_JOB_SECONDS = 10;
/** A followed job nobody streams is let go after this long; a finished one sooner. */
const FOLLOW_IDLE_MS = 30_000;
const FINISHED_FOLLOW_MS = 2_000;
/** A queued job BullMQ does not know is lost only after this long (it is added just after its record). */
const ORPHAN_AFTER_MS = 10_000;

const WORKER_LOST_MESSAGE =
  'The worker running this edit was lost (it stopped answering) and the retry was lost too; resend the edit, and tell the server admin if it happens again.';

/**
 * The API node's queue on Redis: jobs, events and results live in Redis (so they survive a restart
 * of this process and every API node sees the same), BullMQ queues (one per model) hand the jobs
 * to worker processes, and this node follows the jobs its clients look at over Redis pub/sub.
 */
export class RedisJobQueue implements JobQueue {
  readonly results: RedisResultReader;
  private readonly store: RedisJobStore;
  private readonly subscriber: Redis;
  private readonly queues = new Map<string, Queue>();
  private readonly followed = new Map<string, FollowedJob>();
  private readonly logger: Logger;
  private readonly metrics: JobMetrics;
  private readonly retentionMs: number;
  private readonly sweepTimer: NodeJS.Timeout;
  private sweeping = false;
  private positionsDue = new Set<string>();
  private draining = false;

  static async connect(options: RedisJobQueueOptions): Promise<RedisJobQueue> {
    const redis = connectForRequests(options.redisUrl);
    const subscriber = connectPatiently(options.redisUrl, 'pixels-api-events');
    try {
      await redis.ping();
    } catch (error) {
      redis.disconnect();
      subscriber.disconnect();
      throw new Error(`Redis at ${options.redisUrl} does not answer: ${(error as Error).message}`);
    }
    return new RedisJobQueue(options, redis, subscriber);
  }

  private constructor(
    private readonly options: RedisJobQueueOptions,
    private readonly redis: Redis,
    subscriber: Redis,
  ) {
    this.retentionMs = options.retentionMs ?? 60 * 60 * 1000;
    this.store = new RedisJobStore(redis, this.retentionMs);
    this.results = new RedisResultReader(redis);
    this.logger = options.logger ?? silentLogger;
    this.metrics = options.metrics ?? new JobMetrics();
    this.subscriber = subscriber;
    subscriber.on('message', (channel: string, message: string) => this.onMessage(channel, message));
    void subscriber.subscribe(redisKeys.queueChangedChannel);
    this.sweepTimer = setInterval(() => void this.sweep(), options.sweepMs ?? 1000);
    this.sweepTimer.unref();
  }

  get isDraining(): boolean {
    return this.draining;
  }

  async submit(owner: string, settings: EditSettings, inputs: EditInputs): Promise<JobRecord> {
    const inputBytes = inputByteCount(inputs);
    await this.checkAdmission(owner, inputBytes);
    const id = newJobId();
    const now = Date.now();
    await this.guard(async () => {
      const placed = await this.store.create(id, owner, settings, inputs, inputBytes, now, this.options.limits);
      if (typeof placed !== 'number') {
        // Another API node took the place between the check and now: answer as the check would now.
        await this.checkAdmission(owner, inputBytes);
        throw new QueueFullError(
          "The server's queue filled up while this edit was being taken in; retry in a few seconds.",
          Math.max(1, Math.ceil(ASSUMED_JOB_SECONDS / 2)),
        );
      }
      const priority = placed;
      const queue = this.queueFor(settings.model);
      // Its place before a worker can take it, so every job's first event is `queued` (BullMQ
      // orders by priority × 2³², then by arrival: the jobs before it are those of lower priority).
      const [ahead, unprioritized] = await Promise.all([
        this.redis.zcount(queue.keys.prioritized, '-inf', `(${(priority + 1) * 2 ** 32}`),
        this.redis.llen(queue.keys.wait),
      ]);
      const position = ahead + unprioritized + 1;
      const snapshot = { id, owner, exemplars: inputs.exemplars.length, hasMap: !!inputs.map };
      await this.store.transition(snapshot, 'position', { type: 'queued', position }, { position });
      try {
        await queue.add(
          'edit',
          { id },
          { jobId: id, priority, attempts: ATTEMPTS, removeOnComplete: true, removeOnFail: { age: 3600 } },
        );
      } catch (error) {
        await this.store.transition(
          snapshot,
          'end',
          {
            type: 'failed',
            error: { code: 'internal', message: 'The job could not be queued; resend the edit.' },
            reason: 'server_fault',
          },
          { state: 'failed', reason: 'server_fault', finishedAt: Date.now() },
        );
        throw error;
      }
      await this.announcePositions(settings.model);
    });
    const job = await this.find(id);
    this.logger.info('job queued', {
      jobId: id,
      owner,
      position: job?.position,
      model: settings.model,
      steps: settings.steps,
      exemplars: inputs.exemplars.length,
      inputBytes,
    });
    if (!job) throw new PixelsError('internal', 'The job was queued but could not be read back; resend the edit.');
    return job;
  }

  async checkAdmission(owner: string, inputBytes: number): Promise<void> {
    if (this.draining) checkAdmissionFacts(drainingFacts(), this.options.limits, () => {});
    const facts = await this.guard(async () => {
      const [counts, tally, workers, ownedResultsFirst, anyFirst, activeUsers] = await Promise.all([
        this.redis
          .multi()
          .scard(redisKeys.ownerOpen(owner))
          .scard(redisKeys.waiting)
          .scard(redisKeys.ownerWaiting(owner))
          .exec(),
        this.redis.hmget(redisKeys.tally, 'inputs', `inputs:${owner}`, 'results', `results:${owner}`),
        this.liveWorkers(),
        this.redis.zrange(redisKeys.ownerResults(owner), '0', '0', 'WITHSCORES'),
        this.redis.zrange(redisKeys.expiry, '0', '0', 'WITHSCORES'),
        this.store.askForPlace(owner, ASKING_WINDOW_MS),
      ]);
      const [ownedJobs, waiting, waitingOwned] = (counts ?? []).map(([, value]) => Number(value));
      const [totalInputBytes, ownedInputBytes, totalResultBytes, ownedResultBytes] = tally.map((value) =>
        Number(value ?? 0),
      );
      const finishedJobs = workers.reduce((sum, worker) => sum + worker.jobs.done + worker.jobs.failed, 0);
      const seconds = workers.reduce((sum, worker) => sum + worker.stepSeconds, 0);
      const jobSeconds = finishedJobs > 0 ? seconds / finishedJobs : ASSUMED_JOB_SECONDS;
      const until = (first: string[]) => (first.length === 2 ? (Number(first[1]) - Date.now()) / 1000 : 60);
      return {
        isDraining: this.draining,
        inputBytes,
        jobSeconds,
        workers: Math.max(1, workers.length),
        ownedJobs,
        ownedInputBytes,
        totalInputBytes,
        ownedResultBytes,
        totalResultBytes,
        waiting,
        waitingOwned,
        activeUsers,
        secondsUntilOwnedFinishes: () => jobSeconds,
        secondsUntilOwnedResultExpires: () => until(ownedResultsFirst),
        secondsUntilAnyResultExpires: () => until(anyFirst),
      };
    });
    checkAdmissionFacts(facts, this.options.limits, () => {
      this.metrics.refused++;
    });
  }

  /** The job as Redis holds it; followed from now on, so its record receives the job's events. */
  async find(id: string): Promise<JobRecord | undefined> {
    const known = this.followed.get(id);
    if (known) {
      known.lastUsed = Date.now();
      return known.ready;
    }
    const followed: FollowedJob = {
      ready: Promise.resolve(undefined),
      early: [],
      chain: Promise.resolve(),
      lastUsed: Date.now(),
    };
    this.followed.set(id, followed);
    followed.ready = this.guard(async () => {
      // Subscribed before the snapshot is read, so no event falls between the two.
      await this.subscriber.subscribe(redisKeys.eventsChannel(id));
      const snapshot = await this.store.load(id);
      if (!snapshot) {
        this.unfollow(id);
        return undefined;
      }
      const record = recordFromSnapshot(snapshot);
      for (const entry of followed.early) record.events.restore(entry);
      followed.early = [];
      followed.record = record;
      if (record.isFinished) void this.subscriber.unsubscribe(redisKeys.eventsChannel(id));
      return record;
    }).catch((error: unknown) => {
      this.followed.delete(id);
      throw error;
    });
    return followed.ready;
  }

  async cancel(id: string, by: EndReason = 'owner', waitMs = 5000): Promise<JobRecord | undefined> {
    return this.guard(async () => {
      const snapshot = await this.store.load(id);
      if (!snapshot) return undefined;
      if (isFinishedState(snapshot.state)) {
        await this.store.remove(id, snapshot.owner);
        this.unfollow(id);
        this.logger.debug('job deleted', { jobId: id });
        return recordFromSnapshot(snapshot);
      }
      const record = await this.find(id);
      await this.redis.hset(redisKeys.job(id), 'cancel', by);
      if (snapshot.state === 'queued' && (await this.queueFor(snapshot.model).remove(id)) === 1) {
        await this.store.transition(
          snapshot,
          'end',
          { type: 'canceled', reason: by },
          { state: 'canceled', reason: by, finishedAt: Date.now() },
        );
        this.metrics.finished.canceled++;
        this.logger.info('job canceled while queued', { jobId: id, owner: snapshot.owner, reason: by });
        await this.announcePositions(snapshot.model);
      } else {
        // Running (or just taken) on some worker: it listens for this and stops within one step.
        await this.redis.publish(redisKeys.cancelChannel, id);
      }
      if (record) await waitUntilFinished(record, waitMs);
      return record;
    });
  }

  async stats(): Promise<QueueStats> {
    return this.guard(async () => {
      const [counts, tally, workers] = await Promise.all([
        this.redis.multi().scard(redisKeys.waiting).scard(redisKeys.open).exec(),
        this.redis.hgetall(redisKeys.tally),
        this.workers(),
      ]);
      const [queued, open] = (counts ?? []).map(([, value]) => Number(value));
      const tallied = (state: JobState) => Number(tally[`state:${state}`] ?? 0);
      return {
        workers: workers.length,
        liveWorkers: workers.filter((worker) => worker.state === 'live').length,
        queued,
        running: open - queued,
        byState: {
          queued,
          running: open - queued,
          done: tallied('done'),
          failed: tallied('failed'),
          canceled: tallied('canceled'),
        },
        queuedInputBytes: Number(tally.inputs ?? 0),
        resultBytes: Number(tally.results ?? 0),
      };
    });
  }

  async workers(): Promise<WorkerStatus[]> {
    const now = Date.now();
    const announced = await this.guard(() => this.store.listWorkers());
    return announced.map(({ lastHeartbeat, ...worker }) => ({
      ...worker,
      lastHeartbeatAt: new Date(lastHeartbeat).toISOString(),
      state: now - lastHeartbeat <= WORKER_HEARTBEAT.lostAfterMs ? 'live' : 'lost',
    }));
  }

  /** The models the live workers serve, each once (POST /v1/edits accepts only these). */
  async listModels(): Promise<ModelSummary[]> {
    const raw = await this.guard(() => this.redis.hgetall(redisKeys.models));
    const live = new Set((await this.liveWorkers()).flatMap((worker) => worker.models));
    return Object.entries(raw)
      .filter(([name]) => live.has(name))
      .map(([, summary]) => JSON.parse(summary) as ModelSummary)
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Takes no new jobs; queued and running jobs stay in Redis for the workers and the next API node. */
  async drain(_deadlineMs: number): Promise<void> {
    this.draining = true;
  }

  async close(): Promise<void> {
    this.draining = true;
    clearInterval(this.sweepTimer);
    await Promise.all([...this.queues.values()].map((queue) => queue.close()));
    this.subscriber.disconnect();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  private liveWorkers(): Promise<WorkerStatus[]> {
    return this.workers().then((workers) => workers.filter((worker) => worker.state === 'live'));
  }

  private queueFor(model: string): Queue {
    let queue = this.queues.get(model);
    if (!queue) {
      queue = new Queue(modelQueueName(model), { connection: bullConnection(this.options.redisUrl) });
      queue.on('error', (error) => this.logger.warn('queue connection problem', { error: error.message }));
      this.queues.set(model, queue);
    }
    return queue;
  }

  private onMessage(channel: string, message: string): void {
    if (channel === redisKeys.queueChangedChannel) {
      this.positionsDue.add(message);
      return;
    }
    const id = channel.slice(redisKeys.eventsChannel('').length);
    const followed = this.followed.get(id);
    if (!followed) return;
    const entry = JSON.parse(message) as SequencedEvent;
    if (!followed.record) {
      followed.early.push(entry);
      return;
    }
    const record = followed.record;
    followed.chain = followed.chain
      .then(async () => {
        if (entry.event.type === 'step') {
          const { type: _type, preview: _preview, ...progress } = entry.event;
          record.progress = progress;
        } else {
          const snapshot = await this.store.load(id);
          if (snapshot) updateRecord(record, snapshot);
        }
        record.events.restore(entry);
        if (record.isFinished) void this.subscriber.unsubscribe(channel);
      })
      .catch((error: unknown) => this.logger.warn('job event not applied', { jobId: id, error }));
  }

  private unfollow(id: string): void {
    if (!this.followed.delete(id)) return;
    void this.subscriber.unsubscribe(redisKeys.eventsChannel(id)).catch(() => {});
  }

  /** Tells every waiting job of `model` whose place changed where it now stands (BullMQ's own order). */
  private async announcePositions(model: string): Promise<void> {
    const queue = this.queueFor(model);
    const [waiting, prioritized] = await Promise.all([
      this.redis.lrange(queue.keys.wait, 0, -1),
      this.redis.zrange(queue.keys.prioritized, '0', '-1'),
    ]);
    // The wait list is taken from its tail; jobs without priority go before prioritized ones.
    const order = [...waiting.reverse(), ...prioritized];
    await Promise.all(
      order.map((id, index) =>
        this.store.transition(
          { id, owner: '', exemplars: 0, hasMap: false },
          'position',
          {
            type: 'queued',
            position: index + 1,
          },
          { position: index + 1 },
        ),
      ),
    );
  }

  /**
   * The work no single process owns, done by every API node (each step is idempotent): expire
   * finished jobs, notice jobs whose worker was lost (BullMQ moved them back to waiting, or failed
   * them after MAX_STALLED stalls), and announce positions that changed.
   */
  private async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      const now = Date.now();
      const expired = await this.redis.zrangebyscore(redisKeys.expiry, '-inf', String(now), 'LIMIT', 0, 100);
      for (const id of expired) {
        const owner = await this.redis.hget(redisKeys.job(id), 'owner');
        await this.store.remove(id, owner ?? '');
        this.unfollow(id);
        this.logger.debug('job expired', { jobId: id });
      }
      const models = new Set(this.positionsDue);
      this.positionsDue.clear();
      for (const id of await this.redis.smembers(redisKeys.open)) {
        const snapshot = await this.store.load(id);
        if (!snapshot) continue;
        models.add(snapshot.model);
        await this.reconcile(snapshot, now);
      }
      for (const model of models) await this.announcePositions(model);
      for (const [id, followed] of this.followed) {
        // Events published while this node's subscriber was cut off (a Redis restart or a dropped
        // link) are read back from the job's kept events: no stream waits forever for its end.
        if (followed.record && !followed.record.isFinished) await this.catchUp(id, followed.record);
        const idle = now - followed.lastUsed;
        const streamed = (followed.record?.events.subscriberCount ?? 0) > 0;
        if ((followed.record?.isFinished && idle > FINISHED_FOLLOW_MS) || (!streamed && idle > FOLLOW_IDLE_MS)) {
          this.unfollow(id);
        }
      }
    } catch (error) {
      this.logger.warn('sweep failed', { error: (error as Error).message });
    } finally {
      this.sweeping = false;
    }
  }

  private async catchUp(id: string, record: JobRecord): Promise<void> {
    const snapshot = await this.store.load(id);
    if (!snapshot) return;
    const last = record.events.since(0).at(-1)?.id ?? 0;
    const missed = snapshot.events.filter((entry) => entry.id > last);
    if (missed.length === 0) return;
    updateRecord(record, snapshot);
    for (const entry of missed) record.events.restore(entry);
    if (record.isFinished) void this.subscriber.unsubscribe(redisKeys.eventsChannel(id));
  }

  private async reconcile(snapshot: JobSnapshot, now: number): Promise<void> {
    const state = await this.queueFor(snapshot.model).getJobState(snapshot.id);
    if (snapshot.state === 'running' && (state === 'waiting' || state === 'prioritized')) {
      const requeued = { type: 'requeued', reason: 'worker_lost', attempt: snapshot.attempts + 1 } as const;
      if ((await this.store.transition(snapshot, 'requeue', requeued, { state: 'queued' })) > 0) {
        this.logger.warn('job requeued: its worker was lost', { jobId: snapshot.id, worker: snapshot.worker });
      }
      return;
    }
    const lost =
      state === 'failed' ||
      ((state === 'unknown' || state === 'completed') && now - snapshot.createdAt > ORPHAN_AFTER_MS);
    if (!lost) return;
    const error = { code: 'worker_lost' as const, message: WORKER_LOST_MESSAGE };
    const ended = await this.store.transition(
      snapshot,
      'end',
      { type: 'failed', error, reason: 'worker_lost' },
      { state: 'failed', reason: 'worker_lost', finishedAt: now, error: JSON.stringify(error) },
    );
    if (ended > 0) {
      this.metrics.finished.failed++;
      this.logger.error('job failed: its worker was lost', {
        jobId: snapshot.id,
        bullState: state,
        worker: snapshot.worker,
      });
    }
  }

  /** Redis faults become a 503 for the client (retry), never a 500 with library text. */
  private async guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof PixelsError) throw error;
      this.logger.error('redis request failed', { error: (error as Error).message });
      throw new PixelsError('not_ready', 'The job store (Redis) does not answer; retry in a few seconds.');
    }
  }
}

function drainingFacts() {
  const never = () => 0;
  return {
    isDraining: true,
    inputBytes: 0,
    jobSeconds: 0,
    workers: 1,
    ownedJobs: 0,
    ownedInputBytes: 0,
    totalInputBytes: 0,
    ownedResultBytes: 0,
    totalResultBytes: 0,
    waiting: 0,
    waitingOwned: 0,
    activeUsers: 1,
    secondsUntilOwnedFinishes: never,
    secondsUntilOwnedResultExpires: never,
    secondsUntilAnyResultExpires: never,
  };
}

function isFinishedState(state: JobState): boolean {
  return state === 'done' || state === 'failed' || state === 'canceled';
}

function recordFromSnapshot(snapshot: JobSnapshot): JobRecord {
  const record = new JobRecord(
    snapshot.id,
    snapshot.owner,
    snapshot.settings,
    undefined,
    snapshot.createdAt,
    snapshot.inputBytes,
  );
  updateRecord(record, snapshot);
  for (const entry of snapshot.events) record.events.restore(entry);
  return record;
}

function updateRecord(record: JobRecord, snapshot: JobSnapshot): void {
  record.state = snapshot.state;
  record.position = snapshot.state === 'queued' ? snapshot.position : undefined;
  record.progress = snapshot.progress;
  record.seed = snapshot.seed;
  record.startedAt = snapshot.startedAt;
  record.finishedAt = snapshot.finishedAt;
  record.error = snapshot.error;
  record.reason = snapshot.reason;
  record.attempts = snapshot.attempts;
  record.result = snapshot.result && { file: redisKeys.result(snapshot.id), ...snapshot.result };
}

function waitUntilFinished(record: JobRecord, waitMs: number): Promise<void> {
  if (record.events.isFinished) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, waitMs);
    const unsubscribe = record.events.subscribe(() => {
      if (record.events.isFinished) done();
    });
    function done() {
      clearTimeout(timer);
      unsubscribe();
      resolve();
    }
  });
}
