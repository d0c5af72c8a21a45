import { DEFAULT_SERVER_LIMITS } from '@pixels/server/http/server-limits.ts';
import { QueueFullError } from '@pixels/server/jobs/admission.ts';
import { connectPatiently } from '@pixels/server/jobs/redis/redis-connection.ts';
import { RedisJobQueue } from '@pixels/server/jobs/redis/redis-job-queue.ts';
import { redisKeys } from '@pixels/server/jobs/redis/redis-keys.ts';
import { EditSettings } from '@pixels/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRedis, type TestRedis } from '../../helpers/redis-server.ts';
import { gradientPng } from '../http/png-bytes.ts';

let redis: TestRedis;
beforeAll(async () => {
  redis = await startTestRedis();
});
afterAll(async () => {
  await redis?.stop({ hard: true });
});

describe('admission across API nodes (Redis engine)', () => {
  it('two API nodes taking submissions at once never pass the global or per-user limit between them', async () => {
    const admin = connectPatiently(redis.url, 'test-admin');
    await admin.flushall();
    const limits = { ...DEFAULT_SERVER_LIMITS, maxQueued: 6, maxQueuedPerUser: 3 };
    // No worker: every job taken stays waiting, so the waiting set is what admission let in.
    const nodes = await Promise.all(
      [1, 2].map(() => RedisJobQueue.connect({ redisUrl: redis.url, limits, retentionMs: 60_000, sweepMs: 100 })),
    );
    try {
      const inputs = { source: gradientPng(8, 8), exemplars: [new Uint8Array([4, 5])] };
      const submit = (node: number, owner: string) =>
        nodes[node].submit(owner, EditSettings.parse({ prompt: owner, steps: 2 }), inputs);
      // 24 users at once, alternating nodes: each node's check reads the counts before the others write.
      const many = await Promise.allSettled(Array.from({ length: 24 }, (_, n) => submit(n % 2, `user-${n}`)));
      const refused = many.filter((answer) => answer.status === 'rejected').map((answer) => answer.reason);
      expect(
        refused.every((reason) => reason instanceof QueueFullError),
        String(refused[0]),
      ).toBe(true);
      expect(many.filter((answer) => answer.status === 'fulfilled')).toHaveLength(6);
      expect(await admin.scard(redisKeys.waiting)).toBe(6);
      // Nothing of a refused job is left behind: one job hash per place taken.
      expect((await admin.keys(redisKeys.job('*'))).filter((key) => !key.includes(':', 11))).toHaveLength(6);

      await admin.flushall();
      // One user's burst over both nodes: their open jobs stay within the per-user limit.
      const burst = await Promise.allSettled(Array.from({ length: 12 }, (_, n) => submit(n % 2, 'ana')));
      expect(burst.filter((answer) => answer.status === 'fulfilled').length).toBeLessThanOrEqual(3);
      expect(await admin.scard(redisKeys.ownerOpen('ana'))).toBeLessThanOrEqual(3);
    } finally {
      await Promise.all(nodes.map((node) => node.close()));
      admin.disconnect();
    }
  });
});
