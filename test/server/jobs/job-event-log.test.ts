import { JobEventLog, type SequencedEvent } from '@pixels/server/jobs/job-event-log.ts';
import { describe, expect, it } from 'vitest';

describe('JobEventLog', () => {
  it('numbers events from 1 and keeps only the newest position and step for resuming clients', () => {
    const log = new JobEventLog();
    log.append({ type: 'queued', position: 3 });
    log.append({ type: 'queued', position: 2 });
    log.append({ type: 'started', seed: 5, totalSteps: 3 });
    log.append({ type: 'step', step: 1, totalSteps: 3, elapsedMs: 10 });
    log.append({ type: 'step', step: 2, totalSteps: 3, elapsedMs: 20 });
    expect(log.since(0).map((entry) => [entry.id, entry.event.type])).toEqual([
      [2, 'queued'],
      [3, 'started'],
      [5, 'step'],
    ]);
    expect(log.since(3).map((entry) => entry.id)).toEqual([5]);
    expect(log.since(5)).toEqual([]);
  });

  it('tells subscribers each new event and drops them after the final one', () => {
    const log = new JobEventLog();
    const seen: SequencedEvent[] = [];
    const unsubscribe = log.subscribe((entry) => seen.push(entry));
    log.append({ type: 'queued', position: 1 });
    expect(log.subscriberCount).toBe(1);
    log.append({ type: 'canceled', reason: 'owner' });
    expect(seen.map((entry) => entry.event.type)).toEqual(['queued', 'canceled']);
    expect(log.isFinished).toBe(true);
    expect(log.subscriberCount).toBe(0);
    unsubscribe();
  });

  it('refuses events after the final one (a bug in the queue, not a client error)', () => {
    const log = new JobEventLog();
    log.append({ type: 'done', resultUrl: '/x', width: 1, height: 1 });
    expect(() => log.append({ type: 'canceled', reason: 'owner' })).toThrow("event 'canceled' after the job finished");
    expect(log.subscribe(() => {})).toBeTypeOf('function');
    expect(log.subscriberCount).toBe(0);
  });
});
