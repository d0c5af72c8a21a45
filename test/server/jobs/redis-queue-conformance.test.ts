import { DEFAULT_SERVER_LIMITS } from '@pixels/server/http/server-limits.ts';
import { connectPatiently } from '@pixels/server/jobs/redis/redis-connection.ts';
import { RedisJobQueue } from '@pixels/server/jobs/redis/redis-job-queue.ts';
import { type RunningRedisWorker, startRedisWorker } from '@pixels/server/jobs/redis/redis-worker.ts';
import { afterAll, beforeAll } from 'vitest';
import { startTestRedis, type TestRedis } from '../../helpers/redis-server.ts';
import { describeJobQueueConformance } from './job-queue-conformance.ts';
import { ScriptedEditRunner } from './scripted-edit-runner.ts';

let redis: TestRedis;
beforeAll(async () => {
  redis = await startTestRedis();
});
afterAll(async () => {
  await redis?.stop({ hard: true });
});

// Workers run in this process on scripted runners (as `pixels serve --redis --local-workers` would),
// over a real Redis; the cross-process cancel is in redis-worker-process.test.ts.
describeJobQueueConformance('redis', async ({ workers, runner, limits, retentionMs }) => {
  const admin = connectPatiently(redis.url, 'test-admin');
  await admin.flushall();
  admin.disconnect();
  const runners = Array.from({ length: workers }, () => new ScriptedEditRunner(runner));
  const queue = await RedisJobQueue.connect({
    redisUrl: redis.url,
    limits: { ...DEFAULT_SERVER_LIMITS, ...limits },
    retentionMs,
    sweepMs: 100,
  });
  const models = await runners[0].listModels();
  const started: RunningRedisWorker[] = [];
  for (const [index, scripted] of runners.entries()) {
    started.push(
      await startRedisWorker({
        redisUrl: redis.url,
        name: `test-worker-${index + 1}`,
        runner: scripted,
        device: 'cpu',
        models,
        retentionMs,
      }),
    );
  }
  return {
    queue,
    runners,
    readResult: async (job) => {
      const reader = (await queue.results.openStream(job.result!)).getReader();
      const chunks: Uint8Array[] = [];
      for (let read = await reader.read(); !read.done; read = await reader.read()) chunks.push(read.value);
      return new Uint8Array(Buffer.concat(chunks));
    },
    close: async () => {
      await Promise.all(started.map((worker) => worker.close(0)));
      await queue.close();
    },
  };
});
