import type { EditInputs } from '@pixels/server/edit/edit-runner.ts';
import { type JobQueue, QueueFullError, type QueueLimits } from '@pixels/server/jobs/job-queue.ts';
import type { JobRecord } from '@pixels/server/jobs/job-record.ts';
import { EditSettings } from '@pixels/shared';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { gradientPng } from '../http/png-bytes.ts';
import type { ScriptedEditRunner } from './scripted-edit-runner.ts';

/** A queue under test, its workers' runners, and how to read a result the way a download does. */
export interface QueueUnderTest {
  queue: JobQueue;
  runners: ScriptedEditRunner[];
  readResult(job: JobRecord): Promise<Uint8Array>;
  close(): Promise<void>;
}

export interface QueueSetup {
  workers: number;
  runner?: ConstructorParameters<typeof ScriptedEditRunner>[0];
  limits?: Partial<QueueLimits>;
  retentionMs?: number;
}

export type MakeQueue = (setup: QueueSetup) => Promise<QueueUnderTest>;

// The scripted runner reads the source's PNG header as the real pipeline does, so the source is a real PNG.
const INPUTS: EditInputs = { source: gradientPng(8, 8), exemplars: [new Uint8Array([4, 5])] };

/** Settings whose prompt names the job, so a runner's start order shows who was served. */
function settings(label: string, steps = 2): EditSettings {
  return EditSettings.parse({ prompt: label, steps });
}

const eventTypes = (job: JobRecord) => job.events.since(0).map((entry) => entry.event.type);

function until(check: () => void | Promise<void>, timeout = 10_000): Promise<void> {
  return vi.waitFor(check, { timeout, interval: 5 });
}

/** Lets the runner's current step finish once the runner is in one (a worker may start a moment after the job's state says so). */
async function releaseStep(runner: ScriptedEditRunner): Promise<void> {
  await until(() => expect(runner.heldSteps).toBeGreaterThan(0));
  runner.release();
}

/**
 * The JobQueue contract, run against every engine (the in-process queue and the Redis queue):
 * what the HTTP layer relies on, whichever holds the jobs.
 */
export function describeJobQueueConformance(engine: string, makeQueue: MakeQueue): void {
  describe(`job queue conformance: ${engine}`, () => {
    const opened: QueueUnderTest[] = [];
    const open = async (setup: QueueSetup) => {
      const made = await makeQueue(setup);
      opened.push(made);
      return made;
    };
    afterEach(async () => {
      for (const made of opened.splice(0)) {
        for (const runner of made.runners) runner.release();
        await made.close();
      }
    });

    it('takes a job: queued with a place, then started, steps and done with a readable result', async () => {
      const { queue, readResult } = await open({ workers: 1 });
      const job = await queue.submit('ana', settings('a', 3), INPUTS);
      expect(job.id).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(job.owner).toBe('ana');
      expect(job.events.since(0)[0].event).toEqual({ type: 'queued', position: 1 });
      await until(() => expect(job.state).toBe('done'));
      expect(eventTypes(job)).toEqual(['queued', 'started', 'step', 'done']);
      expect(job.toJob()).toMatchObject({ state: 'done', resultUrl: `/v1/jobs/${job.id}/result`, seed: 1234 });
      const png = await readResult(job);
      expect([...png.subarray(1, 4)].map((byte) => String.fromCharCode(byte)).join('')).toBe('PNG');
      expect((await queue.find(job.id))?.state).toBe('done');
      expect(await queue.stats()).toMatchObject({ queued: 0, running: 0, byState: { done: 1 } });
    });

    it('tells waiting jobs their place, and moves them up as jobs start', async () => {
      const { queue, runners } = await open({ workers: 1, runner: { holdSteps: true } });
      const running = await queue.submit('ana', settings('r', 1), INPUTS);
      await until(() => expect(running.state).toBe('running'));
      const second = await queue.submit('ana', settings('2', 1), INPUTS);
      const third = await queue.submit('ben', settings('3', 1), INPUTS);
      await until(() => expect([second.position, third.position]).toEqual([1, 2]));
      await releaseStep(runners[0]);
      await until(() => expect(second.state).toBe('running'));
      await until(() => expect(third.position).toBe(1));
      expect(
        third.events
          .since(0)
          .filter((entry) => entry.event.type === 'queued')
          .at(-1)?.event,
      ).toEqual({
        type: 'queued',
        position: 1,
      });
    });

    it('serves 3 users × 10 jobs round robin on 2 workers', async () => {
      const { queue, runners } = await open({ workers: 2, runner: { holdSteps: true } });
      const jobs: JobRecord[] = [];
      for (const user of ['ana', 'ben', 'cyd']) {
        for (let n = 1; n <= 10; n++) jobs.push(await queue.submit(user, settings(`${user}-${n}`, 1), INPUTS));
      }
      const startOrder = () => runners.flatMap((runner) => runner.started.map((started) => started.prompt));
      // Release steps until every job ran; record the order in which they started.
      const order: string[] = [];
      for (let round = 0; round < 40 && order.length < 30; round++) {
        await until(() => expect(runners.reduce((sum, runner) => sum + runner.heldSteps, 0)).toBeGreaterThan(0));
        const before = startOrder();
        for (const prompt of before) if (!order.includes(prompt)) order.push(prompt);
        for (const runner of runners) runner.release();
        if (order.length === 30) break;
      }
      // The last jobs may start after the last round's release (release wakes only the steps held
      // then), so the wait goes on releasing until every job is done.
      await until(() => {
        for (const runner of runners) runner.release();
        expect(jobs.every((job) => job.state === 'done')).toBe(true);
      }, 20_000);
      for (const prompt of startOrder()) if (!order.includes(prompt)) order.push(prompt);
      const users = order.map((prompt) => prompt.split('-')[0]);
      expect(users).toHaveLength(30);
      // The first two starts are ana's (taken before ben and cyd submitted); from then on no user
      // gets ahead of another by more than the two jobs that start together on the two workers.
      const counts = new Map<string, number>([
        ['ana', 0],
        ['ben', 0],
        ['cyd', 0],
      ]);
      for (const [at, user] of users.slice(2, 26).entries()) {
        counts.set(user, counts.get(user)! + 1);
        const spread = Math.max(...counts.values()) - Math.min(...counts.values());
        expect(spread, `after ${at + 3} starts: ${users.join(' ')}`).toBeLessThanOrEqual(2);
      }
    });

    it('refuses a user over their limit with 429 and a Retry-After, and still takes others', async () => {
      const { queue } = await open({ workers: 1, runner: { holdSteps: true }, limits: { maxQueuedPerUser: 2 } });
      await queue.submit('ana', settings('1'), INPUTS);
      await queue.submit('ana', settings('2'), INPUTS);
      const refused = await Promise.resolve()
        .then(() => queue.submit('ana', settings('3'), INPUTS))
        .catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(QueueFullError);
      expect((refused as QueueFullError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
      expect((refused as QueueFullError).message).toContain('2 jobs queued or running');
      await expect(Promise.resolve(queue.checkAdmission('ben', 0))).resolves.toBeUndefined();
      expect((await queue.submit('ben', settings('b'), INPUTS)).owner).toBe('ben');
    });

    it('cancels a queued job at once, and the jobs behind it move up', async () => {
      const { queue } = await open({ workers: 1, runner: { holdSteps: true } });
      const running = await queue.submit('ana', settings('r'), INPUTS);
      await until(() => expect(running.state).toBe('running'));
      const first = await queue.submit('ana', settings('1'), INPUTS);
      const second = await queue.submit('ben', settings('2'), INPUTS);
      await until(() => expect(second.position).toBe(2));
      const canceled = await queue.cancel(first.id, 'owner');
      expect(canceled?.state).toBe('canceled');
      await until(() => expect(first.events.since(0).at(-1)?.event).toEqual({ type: 'canceled', reason: 'owner' }));
      await until(() => expect(second.position).toBe(1));
      expect((await queue.stats()).queued).toBe(1);
    });

    it('cancels a running job within one step', async () => {
      const { queue, runners } = await open({ workers: 1, runner: { holdSteps: true } });
      const job = await queue.submit('ana', settings('long', 50), INPUTS);
      await until(() => expect(job.state).toBe('running'));
      await releaseStep(runners[0]);
      await until(() => expect(job.progress?.step).toBe(1));
      const canceled = await queue.cancel(job.id, 'admin');
      expect(canceled?.state).toBe('canceled');
      expect(canceled?.reason).toBe('admin');
      expect(job.progress?.step).toBeLessThanOrEqual(2);
      expect(job.events.since(0).at(-1)?.event).toEqual({ type: 'canceled', reason: 'admin' });
      const next = await queue.submit('ana', settings('next', 1), INPUTS);
      await releaseStep(runners[0]);
      await until(() => expect(next.state).toBe('done'));
    });

    it('numbers events so a client resumes after the last id it saw (Last-Event-ID)', async () => {
      const { queue } = await open({ workers: 1, runner: { stepMs: 5 } });
      const job = await queue.submit('ana', settings('a', 4), INPUTS);
      await until(() => expect(job.state).toBe('done'));
      const all = job.events.since(0);
      expect(all.map((entry) => entry.id)).toEqual([...all.map((entry) => entry.id)].sort((a, b) => a - b));
      const started = all.find((entry) => entry.event.type === 'started')!;
      const resumed = job.events.since(started.id);
      // Only the newest step is kept: a resuming client gets the latest progress and the end.
      expect(resumed.map((entry) => entry.event.type)).toEqual(['step', 'done']);
      expect(resumed.at(-1)?.event).toMatchObject({ type: 'done', resultUrl: `/v1/jobs/${job.id}/result` });
      const again = await queue.find(job.id);
      expect(again?.events.since(started.id).map((entry) => entry.id)).toEqual(resumed.map((entry) => entry.id));
    });

    it('keeps a finished job and its result for the retention time, then forgets both', async () => {
      const { queue } = await open({ workers: 1, retentionMs: 1500 });
      const job = await queue.submit('ana', settings('a', 1), INPUTS);
      await until(() => expect(job.state).toBe('done'));
      expect((await queue.stats()).resultBytes).toBeGreaterThan(0);
      await until(async () => expect(await queue.find(job.id)).toBeUndefined(), 8000);
      expect((await queue.stats()).resultBytes).toBe(0);
    });

    it('deletes a finished job and its result when it is canceled', async () => {
      const { queue } = await open({ workers: 1 });
      const job = await queue.submit('ana', settings('a', 1), INPUTS);
      await until(() => expect(job.state).toBe('done'));
      await queue.cancel(job.id);
      await until(async () => expect(await queue.find(job.id)).toBeUndefined());
      expect(await queue.cancel(job.id)).toBeUndefined();
    });

    it('shares the waiting places evenly between the users who want them, even against one-user bursts', async () => {
      const { queue } = await open({
        workers: 1,
        runner: { holdSteps: true },
        limits: { maxQueued: 12, maxQueuedPerUser: 20 },
      });
      const running = await queue.submit('ana', settings('r'), INPUTS);
      await until(() => expect(running.state).toBe('running'));
      const users = ['ana', 'ben', 'cyd', 'dan'];
      // Each asks before sending a body (as the HTTP layer does), then sends ten, one user after another.
      for (const user of users) await queue.checkAdmission(user, 0);
      const waiting: Record<string, number> = {};
      const refusals: Record<string, QueueFullError> = {};
      for (const user of users) {
        waiting[user] = 0;
        for (let n = 0; n < 10; n++) {
          try {
            await queue.submit(user, settings(`${user}-${n}`), INPUTS);
            waiting[user]++;
          } catch (error) {
            expect(error).toBeInstanceOf(QueueFullError);
            refusals[user] ??= error as QueueFullError;
          }
        }
      }
      // Four users want places: an even share is ceil(12 / (4 + 1)) = 3 each, one share left for a
      // newcomer; the last free place goes to a user with nothing waiting, so the last in line gets 2.
      expect(waiting, 'waiting jobs per user').toEqual({ ana: 3, ben: 3, cyd: 3, dan: 2 });
      expect(refusals.ana.message).toContain('fair share');
      // Ana's next place comes once one of her three has started: with four users taking turns on
      // one worker that is about four job times away, not one second.
      expect(refusals.ana.retryAfterSeconds).toBeGreaterThan(refusals.dan.retryAfterSeconds);
      expect(refusals.ana.retryAfterSeconds).toBeGreaterThan(1);
      // A user with nothing queued still gets the place kept free.
      expect((await queue.submit('eve', settings('eve'), INPUTS)).owner).toBe('eve');
      await expect(Promise.resolve().then(() => queue.submit('eve', settings('eve-2'), INPUTS))).rejects.toBeInstanceOf(
        QueueFullError,
      );
    });

    it('retries a job whose worker thread died once, and the events say so: requeued, then started as attempt 2', async () => {
      const { queue, readResult } = await open({ workers: 1, runner: { crashAtStep: 2 } });
      const job = await queue.submit('ana', settings('retried', 3), INPUTS);
      await until(() => expect(job.state).toBe('done'));
      const events = job.events.since(0).map((entry) => entry.event);
      const requeuedAt = events.findIndex((event) => event.type === 'requeued');
      expect(events[requeuedAt]).toEqual({ type: 'requeued', reason: 'worker_lost', attempt: 2 });
      const starts = events.filter((event) => event.type === 'started');
      expect(starts).toHaveLength(2);
      expect(starts[0]).not.toHaveProperty('attempt');
      expect(starts[1]).toMatchObject({ attempt: 2 });
      expect(events.indexOf(starts[1])).toBeGreaterThan(requeuedAt);
      expect(events.at(-1)?.type).toBe('done');
      expect((await readResult(job)).length).toBeGreaterThan(0);
    });

    it("keeps each job its owner's: limits and counts are per owner", async () => {
      const { queue } = await open({ workers: 1, runner: { holdSteps: true }, limits: { maxQueuedPerUser: 1 } });
      const ana = await queue.submit('ana', settings('a'), INPUTS);
      const ben = await queue.submit('ben', settings('b'), INPUTS);
      expect([ana.owner, ben.owner]).toEqual(['ana', 'ben']);
      expect((await queue.find(ben.id))?.owner).toBe('ben');
      await expect(Promise.resolve().then(() => queue.checkAdmission('ana', 0))).rejects.toBeInstanceOf(QueueFullError);
      await expect(Promise.resolve().then(() => queue.checkAdmission('cyd', 0))).resolves.toBeUndefined();
    });
  });
}
