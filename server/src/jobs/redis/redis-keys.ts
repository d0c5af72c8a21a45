/**
 * Every Redis key and channel of the Redis engine, in one place (BullMQ keeps its own under
 * `bull:`). One BullMQ queue per model name, so a worker takes only jobs for models it has.
 */
const PREFIX = 'pixels';

export const redisKeys = {
  job: (id: string) => `${PREFIX}:job:${id}`,
  events: (id: string) => `${PREFIX}:job:${id}:events`,
  input: (id: string, part: string) => `${PREFIX}:job:${id}:in:${part}`,
  result: (id: string) => `${PREFIX}:job:${id}:result`,
  /** Jobs queued or running, and those waiting to start. */
  open: `${PREFIX}:open`,
  waiting: `${PREFIX}:waiting`,
  ownerOpen: (owner: string) => `${PREFIX}:owner:${owner}:open`,
  ownerWaiting: (owner: string) => `${PREFIX}:owner:${owner}:waiting`,
  /** The owner's jobs with a stored result, scored by when they expire. */
  ownerResults: (owner: string) => `${PREFIX}:owner:${owner}:results`,
  /** Finished jobs, scored by when they expire. */
  expiry: `${PREFIX}:expiry`,
  /** Byte and state counters: inputs, inputs:<owner>, results, results:<owner>, state:<state>. */
  tally: `${PREFIX}:tally`,
  /** Users who asked for a place, scored by when they last asked (ms), for the fair share. */
  askers: `${PREFIX}:askers`,
  /** Round-robin bookkeeping: `round` (the priority last started) and `last:<owner>`. */
  fair: `${PREFIX}:fair`,
  /** Worker name → its announcement (JSON), refreshed every heartbeat. */
  workers: `${PREFIX}:workers`,
  /** Model name → its summary (JSON), as the workers that have it announce it. */
  models: `${PREFIX}:models`,
  eventsChannel: (id: string) => `${PREFIX}:events:${id}`,
  /** A job id published here is canceled by whichever worker runs it. */
  cancelChannel: `${PREFIX}:cancel`,
  /** A model name published here: its queue's order changed, positions are announced again. */
  queueChangedChannel: `${PREFIX}:queue-changed`,
} as const;

/** The BullMQ queue of one model (queue names may not hold `:`). */
export function modelQueueName(model: string): string {
  return `pixels-model-${model.replace(/[^A-Za-z0-9._-]/g, '_')}`;
}
