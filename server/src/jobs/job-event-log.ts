import type { JobEvent } from '@pixels/shared';

/** A job event with its sequence number, the SSE `id:` a client resumes from. */
export interface SequencedEvent {
  id: number;
  event: JobEvent;
}

export type EventListener = (entry: SequencedEvent) => void;

/** Event types whose newest entry makes the older ones moot: a resuming client needs only the latest. */
const SUPERSEDING_TYPES: ReadonlySet<JobEvent['type']> = new Set(['queued', 'step']);
const TERMINAL_TYPES: ReadonlySet<JobEvent['type']> = new Set(['done', 'failed', 'canceled']);

/**
 * The events of one job, kept so a dropped event stream can resume (SSE `Last-Event-ID`).
 * Only the newest `queued` and `step` events are kept: a client that reconnects gets the current
 * position and progress, never a replay of every step (which with previews would hold megabytes).
 */
export class JobEventLog {
  private entries: SequencedEvent[] = [];
  private readonly listeners = new Set<EventListener>();
  private nextId = 1;

  /** Whether a terminal event (done, failed, canceled) was appended; nothing follows it. */
  get isFinished(): boolean {
    const last = this.entries.at(-1);
    return last !== undefined && TERMINAL_TYPES.has(last.event.type);
  }

  append(event: JobEvent): SequencedEvent {
    if (this.isFinished) throw new Error(`event '${event.type}' after the job finished`);
    const entry = { id: this.nextId++, event };
    if (SUPERSEDING_TYPES.has(event.type)) {
      this.entries = this.entries.filter((kept) => kept.event.type !== event.type);
    }
    this.entries.push(entry);
    for (const listener of this.listeners) listener(entry);
    if (this.isFinished) this.listeners.clear();
    return entry;
  }

  /**
   * Adds an event numbered elsewhere (the Redis engine numbers each job's events in Redis, so a
   * client resumes with the same id on any API node); one not newer than the last is ignored.
   */
  restore(entry: SequencedEvent): void {
    if (entry.id < this.nextId || this.isFinished) return;
    this.nextId = entry.id;
    this.append(entry.event);
  }

  /** The kept events after `lastId` (0 = from the start), oldest first. */
  since(lastId: number): SequencedEvent[] {
    return this.entries.filter((entry) => entry.id > lastId);
  }

  /** Calls `listener` for every later event; returns the unsubscribe function. */
  subscribe(listener: EventListener): () => void {
    if (this.isFinished) return () => {};
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get subscriberCount(): number {
    return this.listeners.size;
  }
}
