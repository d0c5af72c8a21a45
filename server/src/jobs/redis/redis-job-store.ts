import type { EditSettings, EndReason, ErrorBody, JobEvent, JobState, Progress, WorkerStatus } from '@pixels/shared';
import type { Redis } from 'ioredis';
import type { EditInputs } from '../../edit/edit-runner.ts';
import type { SequencedEvent } from '../job-event-log.ts';
import { redisKeys } from './redis-keys.ts';

/**
 * The one writer of a job's state in Redis. Every change of state goes through the `transition`
 * script, which checks the job's current state, updates the indexes and byte counters, appends
 * the event with the next sequence number and publishes it, atomically: so a job ends exactly once
 * (a late `done` after a `canceled` is refused), and counters never drift. Written by hand: BullMQ
 * keeps delivery and locks, not the product's job record, events or per-user limits.
 */
const TRANSITION_SCRIPT = `
local job, events, open, waiting, ownerOpen, ownerWaiting, tally, expiry, ownerResults =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9]
local kind, slot, eventJson, channel, id, expireAt, ttl, owner =
  ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], tonumber(ARGV[7]), ARGV[8]
if redis.call('EXISTS', job) == 0 then return -1 end
if redis.call('HEXISTS', job, 'terminal') == 1 then return 0 end
local state = redis.call('HGET', job, 'state')
local fields = {}
for i = 9, #ARGV, 2 do fields[ARGV[i]] = ARGV[i + 1] end
if kind == 'position' then
  if state ~= 'queued' or redis.call('HGET', job, 'position') == fields.position then return 0 end
elseif kind == 'start' then
  redis.call('SREM', waiting, id)
  redis.call('SREM', ownerWaiting, id)
  redis.call('HDEL', job, 'position')
  redis.call('HINCRBY', job, 'attempts', 1)
elseif kind == 'requeue' then
  if state ~= 'running' then return 0 end
  redis.call('SADD', waiting, id)
  redis.call('SADD', ownerWaiting, id)
  redis.call('HDEL', job, 'progress', 'startedAt', 'position', 'worker')
elseif kind == 'step' then
  if state ~= 'running' then return 0 end
elseif kind == 'end' then
  redis.call('HSET', job, 'terminal', '1')
  redis.call('SREM', open, id)
  redis.call('SREM', waiting, id)
  redis.call('SREM', ownerOpen, id)
  redis.call('SREM', ownerWaiting, id)
  local inputBytes = tonumber(redis.call('HGET', job, 'inputBytes') or '0')
  redis.call('HINCRBY', tally, 'inputs', -inputBytes)
  redis.call('HINCRBY', tally, 'inputs:' .. owner, -inputBytes)
  redis.call('HINCRBY', tally, 'state:' .. fields.state, 1)
  if fields.resultBytes then
    redis.call('HINCRBY', tally, 'results', tonumber(fields.resultBytes))
    redis.call('HINCRBY', tally, 'results:' .. owner, tonumber(fields.resultBytes))
    redis.call('ZADD', ownerResults, expireAt, id)
  end
  redis.call('ZADD', expiry, expireAt, id)
  for i = 10, #KEYS do redis.call('DEL', KEYS[i]) end
  redis.call('EXPIRE', job, ttl)
  redis.call('EXPIRE', events, ttl)
end
for name, value in pairs(fields) do redis.call('HSET', job, name, value) end
if eventJson == '' then return 1 end
local seq = redis.call('HINCRBY', job, 'seq', 1)
local entry = '{"id":' .. seq .. ',"event":' .. eventJson .. '}'
redis.call('HSET', events, slot, entry)
redis.call('PUBLISH', channel, entry)
return seq
`;

/** Deletes a finished job with its result and gives its bytes back; refuses one still open. */
const REMOVE_SCRIPT = `
local job, events, result, tally, expiry, ownerResults = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local id = ARGV[1]
if redis.call('EXISTS', job) == 0 then redis.call('ZREM', expiry, id) return 0 end
if redis.call('HEXISTS', job, 'terminal') == 0 then return -1 end
local owner = redis.call('HGET', job, 'owner')
local state = redis.call('HGET', job, 'state')
local resultBytes = redis.call('HGET', job, 'resultBytes')
redis.call('HINCRBY', tally, 'state:' .. state, -1)
if resultBytes then
  redis.call('HINCRBY', tally, 'results', -tonumber(resultBytes))
  redis.call('HINCRBY', tally, 'results:' .. owner, -tonumber(resultBytes))
end
redis.call('ZREM', ownerResults, id)
redis.call('ZREM', expiry, id)
redis.call('DEL', job, events, result)
return 1
`;

/**
 * Round robin between users from plain priorities (BullMQ Pro's groups are not used): a job's
 * priority is one more than the larger of its owner's last priority and the priority last started,
 * so each user's n-th waiting job shares priority n with the others' n-th (FIFO among them), and a
 * newcomer joins the current round instead of jumping every queue. Reset when nothing waits.
 */
const PRIORITY_SCRIPT = `
local fair, waiting, owner = KEYS[1], KEYS[2], ARGV[1]
if redis.call('SCARD', waiting) == 0 then redis.call('DEL', fair) end
local round = tonumber(redis.call('HGET', fair, 'round') or '0')
local last = tonumber(redis.call('HGET', fair, 'last:' .. owner) or '0')
local priority = math.min(math.max(round, last) + 1, 2097151)
redis.call('HSET', fair, 'last:' .. owner, priority)
return priority
`;

const ROUND_SCRIPT = `
local round = tonumber(redis.call('HGET', KEYS[1], 'round') or '0')
if tonumber(ARGV[1]) > round then redis.call('HSET', KEYS[1], 'round', ARGV[1]) end
return 1
`;

/**
 * Records that ARGV[1] asks for a place (at the server's clock) and counts the users who want one:
 * those who asked within ARGV[2] ms and the owners of waiting jobs (each job's hash, by the
 * ARGV[3] prefix: one Redis, not a cluster). Atomic, so API nodes asking at once all count.
 */
const ACTIVE_USERS_SCRIPT = `
local waiting, askers = KEYS[1], KEYS[2]
local owner, window, prefix = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('ZADD', askers, now, owner)
redis.call('ZREMRANGEBYSCORE', askers, '-inf', now - window)
redis.call('PEXPIRE', askers, window)
local users, count = {}, 0
for _, who in ipairs(redis.call('ZRANGE', askers, 0, -1)) do
  users[who] = true
  count = count + 1
end
for _, id in ipairs(redis.call('SMEMBERS', waiting)) do
  local who = redis.call('HGET', prefix .. id, 'owner')
  if who and not users[who] then
    users[who] = true
    count = count + 1
  end
end
return count
`;

/**
 * Takes a place for job ARGV[1] of ARGV[2] with ARGV[3] bytes of images, or answers which cap it
 * would pass: 1 the waiting jobs (ARGV[4]), 2 the owner's open jobs (ARGV[5]), 3 and 4 the queued
 * image bytes in all (ARGV[6]) and the owner's (ARGV[7]). The check and the write are one step,
 * so API nodes submitting at once cannot pass a cap between them.
 */
const RESERVE_SCRIPT = `
local open, waiting, ownerOpen, ownerWaiting, tally = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local id, owner, bytes = ARGV[1], ARGV[2], tonumber(ARGV[3])
if redis.call('SCARD', waiting) >= tonumber(ARGV[4]) then return 1 end
if redis.call('SCARD', ownerOpen) >= tonumber(ARGV[5]) then return 2 end
if tonumber(redis.call('HGET', tally, 'inputs') or '0') + bytes > tonumber(ARGV[6]) then return 3 end
if tonumber(redis.call('HGET', tally, 'inputs:' .. owner) or '0') + bytes > tonumber(ARGV[7]) then return 4 end
redis.call('SADD', open, id)
redis.call('SADD', waiting, id)
redis.call('SADD', ownerOpen, id)
redis.call('SADD', ownerWaiting, id)
redis.call('HINCRBY', tally, 'inputs', bytes)
redis.call('HINCRBY', tally, 'inputs:' .. owner, bytes)
return 0
`;

/** The caps the Redis engine holds atomically when a job takes its place (see RESERVE_SCRIPT). */
export interface PlaceCaps {
  maxQueued: number;
  maxQueuedPerUser: number;
  maxQueuedInputBytes: number;
  maxQueuedInputBytesPerUser: number;
}

/** A job as Redis holds it, parsed. */
export interface JobSnapshot {
  id: string;
  owner: string;
  model: string;
  settings: EditSettings;
  state: JobState;
  createdAt: number;
  inputBytes: number;
  exemplars: number;
  hasMap: boolean;
  position?: number;
  progress?: Progress;
  seed?: number;
  startedAt?: number;
  finishedAt?: number;
  error?: ErrorBody['error'];
  reason?: EndReason;
  /** Who asked for a cancel (set before the cancel message is published). */
  cancel?: EndReason;
  attempts: number;
  worker?: string;
  result?: { bytes: number; width: number; height: number; engineMs: number };
  events: SequencedEvent[];
}

/** What a worker announces at every heartbeat. */
export interface WorkerAnnouncement extends Omit<WorkerStatus, 'state' | 'lastHeartbeatAt'> {
  lastHeartbeat: number;
}

export type TransitionKind = 'position' | 'start' | 'requeue' | 'step' | 'end';

type ScriptedRedis = Redis & {
  pixelsTransition(...args: (string | number)[]): Promise<number>;
  pixelsRemove(...args: string[]): Promise<number>;
  pixelsPriority(...args: string[]): Promise<number>;
  pixelsRound(...args: (string | number)[]): Promise<number>;
  pixelsActiveUsers(...args: (string | number)[]): Promise<number>;
  pixelsReserve(...args: (string | number)[]): Promise<number>;
};

/** How long a queued job's inputs are kept at most (a job not started by then fails). */
export const INPUT_TTL_SECONDS = 24 * 60 * 60;
/** Keys of a finished job outlive its expiry by this much, in case no API node sweeps them. */
const KEY_GRACE_SECONDS = 10 * 60;

/** The Redis side of the job record: both roles (API node and worker) read and write through it. */
export class RedisJobStore {
  readonly redis: ScriptedRedis;

  constructor(
    redis: Redis,
    /** How long a finished job and its result are kept. */
    readonly retentionMs: number,
  ) {
    this.redis = redis as ScriptedRedis;
    this.redis.defineCommand('pixelsTransition', { lua: TRANSITION_SCRIPT });
    this.redis.defineCommand('pixelsRemove', { numberOfKeys: 6, lua: REMOVE_SCRIPT });
    this.redis.defineCommand('pixelsPriority', { numberOfKeys: 2, lua: PRIORITY_SCRIPT });
    this.redis.defineCommand('pixelsRound', { numberOfKeys: 1, lua: ROUND_SCRIPT });
    this.redis.defineCommand('pixelsActiveUsers', { numberOfKeys: 2, lua: ACTIVE_USERS_SCRIPT });
    this.redis.defineCommand('pixelsReserve', { numberOfKeys: 5, lua: RESERVE_SCRIPT });
  }

  /** Notes that `owner` asks for a place; answers how many users want one (`owner` included). */
  async askForPlace(owner: string, windowMs: number): Promise<number> {
    return this.redis.pixelsActiveUsers(redisKeys.waiting, redisKeys.askers, owner, windowMs, redisKeys.job(''));
  }

  /**
   * Writes a new queued job with its input images (binary keys with a TTL) and takes its place
   * within `caps` in one atomic step; returns its fair priority, or `{ refused }` (the cap it would
   * pass, see RESERVE_SCRIPT) with nothing left behind.
   */
  async create(
    id: string,
    owner: string,
    settings: EditSettings,
    inputs: EditInputs,
    inputBytes: number,
    now: number,
    caps: PlaceCaps,
  ): Promise<number | { refused: number }> {
    const multi = this.redis.multi();
    multi.hset(redisKeys.job(id), {
      id,
      owner,
      model: settings.model,
      settings: JSON.stringify(settings),
      state: 'queued',
      createdAt: String(now),
      inputBytes: String(inputBytes),
      exemplars: String(inputs.exemplars.length),
      hasMap: inputs.map ? '1' : '0',
      attempts: '0',
      seq: '0',
    });
    const inputKeys = [redisKeys.input(id, 'source')];
    multi.set(redisKeys.input(id, 'source'), Buffer.from(inputs.source), 'EX', INPUT_TTL_SECONDS);
    for (const [index, exemplar] of inputs.exemplars.entries()) {
      inputKeys.push(redisKeys.input(id, `exemplar:${index}`));
      multi.set(inputKeys.at(-1)!, Buffer.from(exemplar), 'EX', INPUT_TTL_SECONDS);
    }
    if (inputs.map) {
      inputKeys.push(redisKeys.input(id, 'map'));
      multi.set(inputKeys.at(-1)!, Buffer.from(inputs.map), 'EX', INPUT_TTL_SECONDS);
    }
    await multi.exec();
    // The job is in no set until its place is taken, so nothing counts or serves it before.
    const refused = await this.redis.pixelsReserve(
      redisKeys.open,
      redisKeys.waiting,
      redisKeys.ownerOpen(owner),
      redisKeys.ownerWaiting(owner),
      redisKeys.tally,
      id,
      owner,
      inputBytes,
      caps.maxQueued,
      caps.maxQueuedPerUser,
      caps.maxQueuedInputBytes,
      caps.maxQueuedInputBytesPerUser,
    );
    if (refused !== 0) {
      await this.redis.del(redisKeys.job(id), ...inputKeys);
      return { refused };
    }
    return this.redis.pixelsPriority(redisKeys.fair, redisKeys.waiting, owner);
  }

  /** Records that a job of `priority` started: later submissions join the round after it. */
  async markRoundStarted(priority: number): Promise<void> {
    await this.redis.pixelsRound(redisKeys.fair, priority);
  }

  async load(id: string): Promise<JobSnapshot | undefined> {
    const [hash, events] = await Promise.all([
      this.redis.hgetall(redisKeys.job(id)),
      this.redis.hvals(redisKeys.events(id)),
    ]);
    if (!hash.id) return undefined;
    const number = (value: string | undefined) => (value === undefined ? undefined : Number(value));
    const json = <T>(value: string | undefined): T | undefined => (value === undefined ? undefined : JSON.parse(value));
    return {
      id: hash.id,
      owner: hash.owner,
      model: hash.model,
      settings: JSON.parse(hash.settings),
      state: hash.state as JobState,
      createdAt: Number(hash.createdAt),
      inputBytes: Number(hash.inputBytes),
      exemplars: Number(hash.exemplars),
      hasMap: hash.hasMap === '1',
      position: number(hash.position),
      progress: json(hash.progress),
      seed: number(hash.seed),
      startedAt: number(hash.startedAt),
      finishedAt: number(hash.finishedAt),
      error: json(hash.error),
      reason: hash.reason as EndReason | undefined,
      cancel: hash.cancel as EndReason | undefined,
      attempts: Number(hash.attempts ?? 0),
      worker: hash.worker,
      result: json(hash.result),
      events: events.map((entry) => JSON.parse(entry) as SequencedEvent).sort((a, b) => a.id - b.id),
    };
  }

  /**
   * Applies one change of state (see TRANSITION_SCRIPT) with its event; answers the event's
   * sequence number, 1 for a change without event, 0 when the job's state refused it, -1 for no job.
   */
  async transition(
    snapshot: Pick<JobSnapshot, 'id' | 'owner' | 'exemplars' | 'hasMap'>,
    kind: TransitionKind,
    event: JobEvent | undefined,
    fields: Record<string, string | number> = {},
  ): Promise<number> {
    const { id, owner } = snapshot;
    const expireAt = Date.now() + this.retentionMs;
    const inputKeys = kind === 'end' ? this.inputKeys(snapshot) : [];
    const keys = [
      redisKeys.job(id),
      redisKeys.events(id),
      redisKeys.open,
      redisKeys.waiting,
      redisKeys.ownerOpen(owner),
      redisKeys.ownerWaiting(owner),
      redisKeys.tally,
      redisKeys.expiry,
      redisKeys.ownerResults(owner),
      ...inputKeys,
    ];
    const slot = event === undefined ? '' : eventSlot(event);
    const args = [
      kind,
      slot,
      event === undefined ? '' : JSON.stringify(event),
      redisKeys.eventsChannel(id),
      id,
      String(expireAt),
      String(Math.ceil(this.retentionMs / 1000) + KEY_GRACE_SECONDS),
      owner,
      ...Object.entries(fields).flatMap(([name, value]) => [name, String(value)]),
    ];
    return this.redis.pixelsTransition(keys.length, ...keys, ...args);
  }

  /** Deletes a finished job and its result; 0 when it was already gone, -1 when it is still open. */
  remove(id: string, owner: string): Promise<number> {
    return this.redis.pixelsRemove(
      redisKeys.job(id),
      redisKeys.events(id),
      redisKeys.result(id),
      redisKeys.tally,
      redisKeys.expiry,
      redisKeys.ownerResults(owner),
      id,
    );
  }

  inputKeys(snapshot: Pick<JobSnapshot, 'id' | 'exemplars' | 'hasMap'>): string[] {
    return [
      redisKeys.input(snapshot.id, 'source'),
      ...Array.from({ length: snapshot.exemplars }, (_, index) => redisKeys.input(snapshot.id, `exemplar:${index}`)),
      ...(snapshot.hasMap ? [redisKeys.input(snapshot.id, 'map')] : []),
    ];
  }

  /** The job's input images, or undefined when they expired. */
  async loadInputs(snapshot: JobSnapshot): Promise<EditInputs | undefined> {
    const keys = this.inputKeys(snapshot);
    const parts = await Promise.all(keys.map((key) => this.redis.getBuffer(key)));
    if (parts.some((part) => part === null)) return undefined;
    const bytes = parts as Buffer[];
    return {
      source: bytes[0],
      exemplars: bytes.slice(1, 1 + snapshot.exemplars),
      ...(snapshot.hasMap ? { map: bytes[bytes.length - 1] } : {}),
    };
  }

  /** Stores a result PNG under the job id (a rerun overwrites it: delivery is at least once). */
  async saveResult(id: string, png: Uint8Array): Promise<void> {
    const seconds = Math.ceil(this.retentionMs / 1000) + KEY_GRACE_SECONDS;
    await this.redis.set(redisKeys.result(id), Buffer.from(png.buffer, png.byteOffset, png.byteLength), 'EX', seconds);
  }

  async announceWorker(announcement: WorkerAnnouncement): Promise<void> {
    await this.redis.hset(redisKeys.workers, announcement.name, JSON.stringify(announcement));
  }

  async forgetWorker(name: string): Promise<void> {
    await this.redis.hdel(redisKeys.workers, name);
  }

  async listWorkers(): Promise<WorkerAnnouncement[]> {
    const values = await this.redis.hvals(redisKeys.workers);
    return values.map((value) => JSON.parse(value) as WorkerAnnouncement).sort((a, b) => a.name.localeCompare(b.name));
  }
}

/** Where an event is kept for a resuming client: only the newest of each kind (as JobEventLog keeps them). */
function eventSlot(event: JobEvent): string {
  switch (event.type) {
    case 'done':
    case 'failed':
    case 'canceled':
      return 'end';
    default:
      return event.type;
  }
}
