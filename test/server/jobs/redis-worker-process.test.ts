import { DEFAULT_SERVER_LIMITS } from '@pixels/server/http/server-limits.ts';
import type { JobRecord } from '@pixels/server/jobs/job-record.ts';
import { RedisJobQueue } from '@pixels/server/jobs/redis/redis-job-queue.ts';
import { EditSettings } from '@pixels/shared';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { fixtureAt } from '../../helpers/images.ts';
import { type LogLine, type PixelsProcess, PixelsProcesses } from '../../helpers/pixels-processes.ts';
import { startTestRedis, type TestRedis } from '../../helpers/redis-server.ts';

describe('a pixels worker process on Redis', () => {
  let redis: TestRedis;
  let queue: RedisJobQueue;
  const processes = new PixelsProcesses();
  let worker: PixelsProcess | undefined;
  beforeAll(async () => {
    redis = await startTestRedis();
    queue = await RedisJobQueue.connect({ redisUrl: redis.url, limits: DEFAULT_SERVER_LIMITS, sweepMs: 200 });
  });
  afterAll(async () => {
    await worker?.stop('SIGKILL');
    await queue?.close();
    await redis?.stop({ hard: true });
  });

  it('runs an edit, stops a job canceled from another process within one step, and stops on SIGTERM', async () => {
    // `pixels worker …` as an admin runs it, with the built-in model.
    worker = processes.spawn('worker', ['worker', '--redis', redis.url, '--device', 'cpu', '--name', 'process-worker']);
    await worker.waitForLine((line) => line.msg === 'worker ready', 'worker ready line', 60_000);
    const workers = await queue.workers();
    expect(workers).toEqual([
      expect.objectContaining({ name: 'process-worker', devices: ['cpu'], models: ['builtin'], state: 'live' }),
    ]);
    expect((await queue.listModels()).map((model) => model.name)).toEqual(['builtin']);

    const inputs = {
      source: await fixtureAt('brick', 256),
      exemplars: [await fixtureAt('grass', 256, 256, (x) => (x < 128 ? 0 : 1))],
    };
    const job: JobRecord = await queue.submit('ana', EditSettings.parse({ steps: 60, strength: 1 }), inputs);
    await vi.waitFor(() => expect(job.progress?.step).toBeGreaterThanOrEqual(2), { timeout: 60_000, interval: 5 });
    const canceled = await queue.cancel(job.id, 'owner');
    expect(canceled?.state).toBe('canceled');
    expect(canceled?.reason).toBe('owner');
    // The edit thread stops at the end of the step it is in when the cancel reaches it. The worker's
    // log counts steps as their progress messages arrive from that thread, so it may yet receive
    // the step finished before the cancel and then the one in progress: at most 2 after it.
    // The worker's log line crosses a pipe after the job's state is already in Redis, so wait for it.
    const isStop = (line: LogLine) => line.msg === 'job canceled while running' && line.jobId === job.id;
    await vi.waitFor(() => expect(worker!.lines.some(isStop)).toBe(true), { timeout: 10_000, interval: 20 });
    const stop = worker!.lines.find(isStop);
    expect(stop).toMatchObject({ reason: 'owner', stepsAtCancel: expect.any(Number) });
    expect(Number(stop!.steps) - Number(stop!.stepsAtCancel)).toBeLessThanOrEqual(2);
    expect(Number(stop!.steps)).toBeLessThan(60);
    expect(job.progress!.step).toBeLessThanOrEqual(Number(stop!.steps));
    expect(job.events.since(0).at(-1)?.event).toEqual({ type: 'canceled', reason: 'owner' });

    const done = await queue.submit('ana', EditSettings.parse({ steps: 4 }), inputs);
    await vi.waitFor(() => expect(done.state).toBe('done'), { timeout: 60_000, interval: 10 });
    expect(done.result?.bytes).toBeGreaterThan(0);

    expect((await worker.stop('SIGTERM')).code).toBe(0);
    expect(worker.lines.at(-1)?.msg).toBe('stopped');
    expect(await queue.workers()).toEqual([]);
  }, 120_000);
});
