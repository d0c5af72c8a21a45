import { PixelsError } from '@pixels/shared';

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

/** A refused submission; `retryAfterSeconds` becomes the 429's Retry-After header. */
export class QueueFullError extends PixelsError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super('queue_full', message);
  }
}

/**
 * What a queue knows when it decides on a submission, whichever engine holds the jobs. The
 * `secondsUntil…` estimates are asked only when a refusal needs them.
 */
export interface AdmissionFacts {
  isDraining: boolean;
  /** Bytes of the images of the edit being submitted (0 before the body is read). */
  inputBytes: number;
  /** Mean measured run time of a job, or an assumption until one has been timed. */
  jobSeconds: number;
  workers: number;
  /** The owner's jobs queued or running, and the bytes of their images. */
  ownedJobs: number;
  ownedInputBytes: number;
  /** Bytes of images of every queued and running job. */
  totalInputBytes: number;
  ownedResultBytes: number;
  totalResultBytes: number;
  /** Jobs waiting to start, all users, and the owner's. */
  waiting: number;
  waitingOwned: number;
  /**
   * Users who want a place: those with jobs waiting and those who asked for one in the last
   * ASKING_WINDOW_MS (admitted or not), the owner included.
   */
  activeUsers: number;
  secondsUntilOwnedFinishes: () => number;
  secondsUntilOwnedResultExpires: () => number;
  secondsUntilAnyResultExpires: () => number;
}

const MIB = 1024 * 1024;

/** How long a user who asked for a place counts as wanting one, for the fair share. */
export const ASKING_WINDOW_MS = 30_000;

/**
 * A user's fair share of the waiting places: an even split between the users who want one and
 * one more, so a user who has not asked yet still finds a place.
 */
export function fairShare(maxQueued: number, activeUsers: number): number {
  return Math.max(1, Math.ceil(maxQueued / (Math.max(1, activeUsers) + 1)));
}

function mib(bytes: number): string {
  return `${(bytes / MIB).toFixed(bytes < 10 * MIB ? 1 : 0)} MiB`;
}

/**
 * Throws what the queue answers a submission it cannot take: PixelsError('not_ready' |
 * 'payload_too_large') or QueueFullError (429 with Retry-After). `onRefuse` counts the 429s.
 */
export function checkAdmissionFacts(facts: AdmissionFacts, limits: QueueLimits, onRefuse: () => void): void {
  if (facts.isDraining) {
    throw new PixelsError('not_ready', 'The server is shutting down and takes no new jobs; retry in a minute.');
  }
  const { inputBytes, jobSeconds, workers } = facts;
  if (inputBytes > limits.maxQueuedInputBytesPerUser) {
    throw new PixelsError(
      'payload_too_large',
      `This edit's images are ${mib(inputBytes)}, more than one user may have queued on this server (${mib(limits.maxQueuedInputBytesPerUser)}); send smaller images (the frame at 1x), or ask the admin to raise --max-queued-input-bytes-per-user.`,
    );
  }
  const refuse = (message: string, retryAfterSeconds: number): never => {
    onRefuse();
    const seconds = Math.min(3600, Math.max(1, Math.ceil(retryAfterSeconds)));
    throw new QueueFullError(message.replace('{retry}', `about ${seconds} s`), seconds);
  };
  if (facts.ownedJobs >= limits.maxQueuedPerUser) {
    refuse(
      `You already have ${facts.ownedJobs} jobs queued or running, the most one user may have (${limits.maxQueuedPerUser}); wait for one to finish (in {retry}) or cancel one, then resend.`,
      facts.secondsUntilOwnedFinishes(),
    );
  }
  const ownedBytes = facts.ownedInputBytes;
  if (ownedBytes + inputBytes > limits.maxQueuedInputBytesPerUser) {
    refuse(
      `Your queued and running edits hold ${mib(ownedBytes)} of images; with this one (${mib(inputBytes)}) that is over the ${mib(limits.maxQueuedInputBytesPerUser)} one user may have queued. Wait for one to finish (in {retry}) and resend.`,
      facts.secondsUntilOwnedFinishes(),
    );
  }
  const totalBytes = facts.totalInputBytes;
  if (totalBytes + inputBytes > limits.maxQueuedInputBytes) {
    refuse(
      `The server's queue holds ${mib(totalBytes)} of images, and this edit (${mib(inputBytes)}) would pass its limit of ${mib(limits.maxQueuedInputBytes)}; retry in {retry}.`,
      jobSeconds / workers,
    );
  }
  if (facts.ownedResultBytes >= limits.maxResultBytesPerUser) {
    refuse(
      `The server keeps ${mib(facts.ownedResultBytes)} of your finished results, the most it keeps for one user (${mib(limits.maxResultBytesPerUser)}); download them and delete the jobs (DELETE /v1/jobs/:id), or wait for the oldest to expire (in {retry}).`,
      facts.secondsUntilOwnedResultExpires(),
    );
  }
  if (facts.totalResultBytes >= limits.maxResultBytes) {
    refuse(
      `The server keeps ${mib(facts.totalResultBytes)} of finished results, its limit (${mib(limits.maxResultBytes)}); retry in {retry}, when the oldest expire.`,
      facts.secondsUntilAnyResultExpires(),
    );
  }
  // Fair admission. No user holds more than an even share of the places, counting everyone who
  // wants one (a burst of one user's requests, read before the others', cannot take them all); and
  // a user may take a free place only while they have fewer jobs waiting than there are free
  // places, so the last free place always goes to someone with nothing waiting.
  const free = limits.maxQueued - facts.waiting;
  const waitingOwned = facts.waitingOwned;
  const users = Math.max(1, facts.activeUsers);
  const share = fairShare(limits.maxQueued, users);
  if (free > 0 && waitingOwned >= share) {
    // The user's own jobs start one per round of the round robin: each of theirs that must start
    // before they are under their share waits for one job of every other user wanting places.
    const startsNeeded = Math.min(facts.waiting, (waitingOwned + 1 - share) * users);
    refuse(
      `You have ${waitingOwned} jobs waiting, your fair share of the server's ${limits.maxQueued} places while ${users} users want them (${share} each); resend when one of yours has started (in {retry}).`,
      Math.ceil(startsNeeded / workers) * jobSeconds,
    );
  }
  if (free <= 0 || waitingOwned >= free) {
    const startsNeeded = Math.max(1, waitingOwned + 1 - Math.max(0, free));
    const seconds = Math.ceil(startsNeeded / workers) * jobSeconds;
    refuse(
      free <= 0
        ? `The server's queue is full (${facts.waiting} jobs waiting, the limit is ${limits.maxQueued}); retry in {retry}.`
        : `The server's queue is nearly full (${free} of ${limits.maxQueued} places left) and you already have ${waitingOwned} jobs waiting; the last places are kept for users with fewer. Retry in {retry}.`,
      seconds,
    );
  }
}
