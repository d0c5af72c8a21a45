import { createEditRunner } from '@pixels/server/edit/create-edit-runner.ts';
import type { FaultInjection } from '@pixels/server/edit/worker-protocol.ts';
import { describe, expect, it } from 'vitest';
import { editForm } from './app-harness.ts';
import { startLiveServer, TEST_MODELS_DIR } from './live-server.ts';
import { discPng, gradientPng } from './png-bytes.ts';
import { readEventStream } from './sse-client.ts';

const edit = (steps = 4) =>
  editForm({ settings: { steps, strength: 1, seed: 5 }, source: gradientPng(), exemplars: [discPng()] });

/** The live server with the real edit runner, whose worker threads are killed mid-job by `fault`. */
function startWithFault(fault: FaultInjection, heapMb?: number) {
  return startLiveServer({
    runners: (logger, limits) => [
      createEditRunner({
        modelsDir: TEST_MODELS_DIR,
        device: 'cpu',
        intraOpThreads: 1,
        limits,
        logger,
        faultInjection: fault,
        ...(heapMb ? { resourceLimits: { maxOldGenerationSizeMb: heapMb } } : {}),
      }),
    ],
  });
}

describe('supervised edit workers on the live server', () => {
  it('replaces a thread that dies mid-job, retries that job once on the new thread, and runs the queue on', async () => {
    const live = await startWithFault({ kind: 'exit', atStep: 2, threads: 1 });
    try {
      const first = await live.submit('ana', edit());
      const second = await live.submit('ben', edit());
      const firstEvents = await readEventStream(await live.fetchAs('ana', first.eventsUrl));
      const secondEvents = await readEventStream(await live.fetchAs('ben', second.eventsUrl));
      const types = firstEvents.map((entry) => entry.event.type);
      // Started, died at step 2, back in the queue at the head, started again, done.
      expect(types.filter((type) => type === 'started')).toHaveLength(2);
      expect(types.at(-1)).toBe('done');
      // The retry shows as one: requeued for the lost worker, then queued, and the second start says attempt 2.
      const requeuedAt = types.indexOf('requeued');
      expect(firstEvents[requeuedAt]?.event).toEqual({ type: 'requeued', reason: 'worker_lost', attempt: 2 });
      expect(types.slice(requeuedAt, requeuedAt + 3)).toEqual(['requeued', 'queued', 'started']);
      const starts = firstEvents.filter((entry) => entry.event.type === 'started').map((entry) => entry.event);
      expect(starts[0]).not.toHaveProperty('attempt');
      expect(starts[1]).toMatchObject({ type: 'started', attempt: 2 });
      expect(secondEvents.at(-1)?.event.type).toBe('done');
      expect((await live.fetchAs('ana', `${first.jobUrl}/result`)).status).toBe(200);
      expect(live.logLines.filter((line) => line.msg === 'edit worker died')).toHaveLength(1);
      expect(live.logLines.some((line) => line.msg === 'job requeued: its worker died')).toBe(true);
      expect((await live.fetch('/readyz')).status).toBe(200);
    } finally {
      await live.stop();
    }
  });

  it('fails a job whose thread dies twice with worker_lost, is not ready while no thread lives, then serves again', async () => {
    const live = await startWithFault({ kind: 'exit', atStep: 1, threads: 2 });
    try {
      const doomed = await live.submit('ana', edit());
      const events = await readEventStream(await live.fetchAs('ana', doomed.eventsUrl));
      const last = events.at(-1)?.event;
      expect(last).toMatchObject({ type: 'failed', reason: 'worker_lost', error: { code: 'worker_lost' } });
      // The second death in a row waits before restarting (a crash loop backs off): not ready meanwhile.
      const readiness = await live.fetch('/readyz');
      expect(readiness.status).toBe(503);
      expect((await readiness.json()).error.message).toContain('No edit worker is running');
      const job = await (await live.fetchAs('ana', doomed.jobUrl)).json();
      expect(job).toMatchObject({ state: 'failed', reason: 'worker_lost' });
      const next = await live.submit('ana', edit());
      expect((await readEventStream(await live.fetchAs('ana', next.eventsUrl))).at(-1)?.event.type).toBe('done');
      expect((await live.fetch('/readyz')).status).toBe(200);
    } finally {
      await live.stop();
    }
  });

  it('reports a thread that runs out of its heap limit as out_of_memory, without retrying, and recovers', async () => {
    const live = await startWithFault({ kind: 'out_of_memory', atStep: 1, threads: 1 }, 256);
    try {
      const hog = await live.submit('ana', edit());
      const events = await readEventStream(await live.fetchAs('ana', hog.eventsUrl));
      expect(events.at(-1)?.event).toMatchObject({
        type: 'failed',
        reason: 'out_of_memory',
        error: { code: 'out_of_memory' },
      });
      expect(events.filter((entry) => entry.event.type === 'started')).toHaveLength(1);
      expect(live.logLines.some((line) => line.msg === 'edit worker ran out of memory')).toBe(true);
      const next = await live.submit('ana', edit());
      expect((await readEventStream(await live.fetchAs('ana', next.eventsUrl))).at(-1)?.event.type).toBe('done');
    } finally {
      await live.stop();
    }
  });

  it('cancels a running job on DELETE with the reason owner, or admin when an admin does it', async () => {
    const live = await startLiveServer();
    try {
      for (const [canceler, reason] of [
        ['ana', 'owner'],
        ['boss', 'admin'],
      ] as const) {
        const job = await live.submit('ana', edit(150));
        await readEventStream(await live.fetchAs('ana', job.eventsUrl), (entry) => entry.event.type === 'step');
        const response = await live.fetchAs(canceler, job.jobUrl, { method: 'DELETE' });
        expect(await response.json()).toMatchObject({ state: 'canceled', reason });
        const events = await readEventStream(await live.fetchAs('ana', job.eventsUrl));
        expect(events.at(-1)?.event).toEqual({ type: 'canceled', reason });
      }
    } finally {
      await live.stop();
    }
  });
});
