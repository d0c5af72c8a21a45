import type { EditInputs } from '@pixels/server/edit/edit-runner.ts';
import { DEFAULT_SERVER_LIMITS } from '@pixels/server/http/server-limits.ts';
import {
  createJobQueue,
  type JobQueueOptions,
  QueueFullError,
  type QueueLimits,
} from '@pixels/server/jobs/job-queue.ts';
import type { JobRecord } from '@pixels/server/jobs/job-record.ts';
import { ResultStore } from '@pixels/server/jobs/result-store.ts';
import { createJsonLogger } from '@pixels/server/observability/logger.ts';
import { EditSettings, PixelsError } from '@pixels/shared';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { encodePng, gradientPng } from '../http/png-bytes.ts';
import { ScriptedEditRunner } from './scripted-edit-runner.ts';

const INPUTS: EditInputs = { source: gradientPng(8, 8), exemplars: [new Uint8Array([2])] };

/** Settings whose prompt names the submitter, so a runner's start order shows who was served. */
function settings(label: string, steps = 2): EditSettings {
  return EditSettings.parse({ prompt: label, steps });
}

function waitFor(job: JobRecord, state: JobRecord['state']): Promise<void> {
  return vi.waitFor(() => expect(job.state).toBe(state), { timeout: 5000, interval: 2 });
}

const queues: { drain(ms: number): Promise<void> }[] = [];
const stores: ResultStore[] = [];
afterEach(async () => {
  await Promise.all(queues.splice(0).map((queue) => queue.drain(0)));
  await Promise.all(stores.splice(0).map((store) => store.close()));
});

/** A queue with the server's default limits but for `limits`, and a result store removed after the test. */
function newQueue(options: Omit<JobQueueOptions, 'limits' | 'results'> & { limits?: Partial<QueueLimits> }) {
  const results = new ResultStore();
  stores.push(results);
  const queue = createJobQueue({ ...options, limits: { ...DEFAULT_SERVER_LIMITS, ...options.limits }, results });
  queues.push(queue);
  return queue;
}

function makeQueue(
  runners: ScriptedEditRunner[],
  limits: Partial<QueueLimits> = { maxQueued: 100, maxQueuedPerUser: 10 },
  retentionMs = 60_000,
) {
  return newQueue({ runners, limits, retentionMs });
}

describe('job queue', () => {
  it('queues a job with an unguessable id, runs it and keeps its result and events', async () => {
    const runner = new ScriptedEditRunner();
    const queue = makeQueue([runner]);
    const job = queue.submit('ana', settings('a', 3), INPUTS);
    expect(job.id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(job.state).toBe('queued');
    expect(job.position).toBe(1);
    await waitFor(job, 'done');
    // The scripted runner's default result, stored whole.
    expect(job.result?.bytes).toBe(encodePng(8, 8).length);
    expect(job.inputs).toBeUndefined();
    expect(job.seed).toBe(1234);
    expect(job.toJob()).toMatchObject({ state: 'done', resultUrl: `/v1/jobs/${job.id}/result`, seed: 1234 });
    expect(job.events.since(0).map((entry) => entry.event.type)).toEqual(['queued', 'started', 'step', 'done']);
    expect(queue.find(job.id)).toBe(job);
    expect(queue.stats()).toMatchObject({ workers: 1, queued: 0, running: 0, byState: { done: 1 } });
  });

  it('serves users round robin, not first come first served', async () => {
    const runner = new ScriptedEditRunner({ holdSteps: true });
    const queue = makeQueue([runner]);
    const jobs = [
      queue.submit('ana', settings('ana-1', 1), INPUTS),
      queue.submit('ana', settings('ana-2', 1), INPUTS),
      queue.submit('ana', settings('ana-3', 1), INPUTS),
      queue.submit('ana', settings('ana-4', 1), INPUTS),
    ];
    await vi.waitFor(() => expect(runner.heldSteps).toBe(1));
    jobs.push(queue.submit('ben', settings('ben-1', 1), INPUTS), queue.submit('ben', settings('ben-2', 1), INPUTS));
    jobs.push(queue.submit('cyd', settings('cyd-1', 1), INPUTS));
    // ana-1 runs; the rest wait in fair order, and each job knows its place.
    expect(jobs.map((job) => job.position)).toEqual([undefined, 1, 4, 6, 2, 5, 3]);
    for (let released = 0; released < jobs.length; released++) {
      await vi.waitFor(() => expect(runner.heldSteps).toBe(1));
      runner.release();
    }
    await Promise.all(jobs.map((job) => waitFor(job, 'done')));
    expect(runner.started.map((s) => s.prompt)).toEqual([
      'ana-1',
      'ana-2',
      'ben-1',
      'cyd-1',
      'ana-3',
      'ben-2',
      'ana-4',
    ]);
  });

  it('tells queued jobs their new place when a job ahead leaves', async () => {
    const runner = new ScriptedEditRunner({ holdSteps: true });
    const queue = makeQueue([runner]);
    const running = queue.submit('ana', settings('r'), INPUTS);
    const first = queue.submit('ana', settings('1'), INPUTS);
    const second = queue.submit('ana', settings('2'), INPUTS);
    await waitFor(running, 'running');
    expect([first.position, second.position]).toEqual([1, 2]);
    await queue.cancel(first.id);
    expect(first.state).toBe('canceled');
    expect(second.position).toBe(2 - 1);
    expect(second.events.since(0).map((entry) => entry.event)).toEqual([{ type: 'queued', position: 1 }]);
    expect(queue.stats().queued).toBe(1);
  });

  it('refuses a user over the per-user limit with 429 data, while others still get in', async () => {
    const runner = new ScriptedEditRunner({ holdSteps: true });
    const queue = makeQueue([runner], { maxQueued: 100, maxQueuedPerUser: 2 });
    queue.submit('ana', settings('1'), INPUTS);
    queue.submit('ana', settings('2'), INPUTS);
    await vi.waitFor(() => expect(runner.heldSteps).toBe(1));
    const refusal = (() => {
      try {
        queue.submit('ana', settings('3'), INPUTS);
      } catch (error) {
        return error;
      }
    })();
    expect(refusal).toBeInstanceOf(QueueFullError);
    expect((refusal as QueueFullError).code).toBe('queue_full');
    expect((refusal as QueueFullError).message).toContain('You already have 2 jobs queued or running');
    expect((refusal as QueueFullError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(() => queue.submit('ben', settings('b'), INPUTS)).not.toThrow();
  });

  it('refuses everyone when the whole queue is full', async () => {
    const runner = new ScriptedEditRunner({ holdSteps: true });
    const queue = makeQueue([runner], { maxQueued: 2, maxQueuedPerUser: 10 });
    queue.submit('ana', settings('running'), INPUTS);
    await vi.waitFor(() => expect(runner.heldSteps).toBe(1));
    queue.submit('ana', settings('w1'), INPUTS);
    queue.submit('ben', settings('w2'), INPUTS);
    expect(() => queue.submit('cyd', settings('w3'), INPUTS)).toThrow(
      /queue is full \(2 jobs waiting, the limit is 2\)/,
    );
    expect(queue.stats().queued).toBe(2);
  });

  it('cancels a queued job at once', async () => {
    const runner = new ScriptedEditRunner({ holdSteps: true });
    const queue = makeQueue([runner]);
    queue.submit('ana', settings('running'), INPUTS);
    const waiting = queue.submit('ana', settings('waiting'), INPUTS);
    await vi.waitFor(() => expect(runner.heldSteps).toBe(1));
    await queue.cancel(waiting.id);
    expect(waiting.state).toBe('canceled');
    expect(waiting.inputs).toBeUndefined();
    expect(waiting.events.since(0).at(-1)?.event).toEqual({ type: 'canceled', reason: 'owner' });
    expect(runner.started.map((s) => s.prompt)).toEqual(['running']);
  });

  it('stops a running job within one step', async () => {
    const runner = new ScriptedEditRunner({ holdSteps: true });
    const queue = makeQueue([runner]);
    const job = queue.submit('ana', settings('long', 50), INPUTS);
    for (let step = 0; step < 3; step++) {
      await vi.waitFor(() => expect(runner.heldSteps).toBe(1));
      runner.release();
    }
    await vi.waitFor(() => expect(job.progress?.step).toBe(3));
    // The fourth step is under way (held) when the cancel comes; it is the last one to run.
    await vi.waitFor(() => expect(runner.heldSteps).toBe(1));
    await queue.cancel(job.id);
    expect(job.state).toBe('canceled');
    expect(job.progress?.step).toBe(3);
    expect(job.events.since(0).at(-1)?.event).toEqual({ type: 'canceled', reason: 'owner' });
    // The worker is free again.
    const next = queue.submit('ana', settings('next', 1), INPUTS);
    await vi.waitFor(() => expect(runner.heldSteps).toBe(1));
    runner.release();
    await waitFor(next, 'done');
  });

  it('turns an engine refusal into a failed job with its code, and a crash into an internal error', async () => {
    const lines: string[] = [];
    const runner = new ScriptedEditRunner({
      failWith: (s) =>
        s.prompt === 'bad-map'
          ? new PixelsError('map_mismatch', 'The map is 10x10 but the source is 64x64.', 'map')
          : new TypeError('secret internal detail'),
    });
    const queue = newQueue({
      runners: [runner],
      logger: createJsonLogger({ write: (line) => lines.push(line) }),
    });
    const refused = queue.submit('ana', settings('bad-map'), INPUTS);
    const crashed = queue.submit('ana', settings('crash'), INPUTS);
    await waitFor(refused, 'failed');
    await waitFor(crashed, 'failed');
    expect(refused.error).toEqual({
      code: 'map_mismatch',
      message: 'The map is 10x10 but the source is 64x64.',
      field: 'map',
    });
    expect(crashed.error?.code).toBe('internal');
    expect(crashed.error?.message).not.toContain('secret');
    expect(crashed.error?.message).toContain('server log');
    expect(crashed.reason).toBe('server_fault');
    expect(refused.reason).toBe('bad_input');
    const logged = lines.map((line) => JSON.parse(line));
    const crashLine = logged.find((line) => line.jobId === crashed.id && line.level === 'error');
    expect(crashLine?.detail).toContain('secret internal detail');
    expect(logged.find((line) => line.jobId === refused.id && line.msg === 'job refused by the engine')?.level).toBe(
      'info',
    );
  });

  it('deletes finished jobs and their results after the retention time', async () => {
    const queue = makeQueue([new ScriptedEditRunner()], undefined, 30);
    const job = queue.submit('ana', settings('a', 1), INPUTS);
    await waitFor(job, 'done');
    expect(queue.find(job.id)).toBe(job);
    await vi.waitFor(() => expect(queue.find(job.id)).toBeUndefined(), { timeout: 2000 });
  });

  it('deletes a finished job when it is canceled', async () => {
    const queue = makeQueue([new ScriptedEditRunner()]);
    const job = queue.submit('ana', settings('a', 1), INPUTS);
    await waitFor(job, 'done');
    await queue.cancel(job.id);
    expect(queue.find(job.id)).toBeUndefined();
    expect(await queue.cancel(job.id)).toBeUndefined();
  });

  it('runs one job per runner at once', async () => {
    const runners = [new ScriptedEditRunner({ holdSteps: true }), new ScriptedEditRunner({ holdSteps: true })];
    const queue = makeQueue(runners);
    const jobs = [1, 2, 3].map((n) => queue.submit('ana', settings(`${n}`, 1), INPUTS));
    await vi.waitFor(() => expect(runners.map((runner) => runner.heldSteps)).toEqual([1, 1]));
    expect(queue.stats()).toMatchObject({ running: 2, queued: 1 });
    expect(jobs[2].position).toBe(1);
    for (const runner of runners) runner.release();
    await vi.waitFor(() => expect(runners.some((runner) => runner.heldSteps === 1)).toBe(true));
    for (const runner of runners) runner.release();
    await Promise.all(jobs.map((job) => waitFor(job, 'done')));
  });

  it('drains on shutdown: cancels queued jobs, lets a running one finish, refuses new ones', async () => {
    const runner = new ScriptedEditRunner({ stepMs: 5 });
    const queue = newQueue({ runners: [runner] });
    const running = queue.submit('ana', settings('r', 4), INPUTS);
    const waiting = queue.submit('ana', settings('w', 4), INPUTS);
    await waitFor(running, 'running');
    let drained = false;
    const draining = queue.drain(5000).then(() => {
      drained = true;
    });
    await waitFor(running, 'done');
    // The result finished during the drain stays until it has been downloaded once.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(drained).toBe(false);
    running.downloads++;
    await draining;
    expect(running.state).toBe('done');
    expect(waiting.state).toBe('canceled');
    expect(queue.isDraining).toBe(true);
    expect(() => queue.submit('ana', settings('late'), INPUTS)).toThrow(PixelsError);
  });

  it('cancels running jobs that outlast the shutdown deadline', async () => {
    const runner = new ScriptedEditRunner({ stepMs: 20 });
    const queue = newQueue({ runners: [runner] });
    const running = queue.submit('ana', settings('r', 100), INPUTS);
    await waitFor(running, 'running');
    const started = Date.now();
    await queue.drain(50);
    expect(running.state).toBe('canceled');
    expect(running.events.since(0).at(-1)?.event).toEqual({ type: 'canceled', reason: 'shutdown' });
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
