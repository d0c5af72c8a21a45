import { ErrorBody } from '@pixels/shared';
import { describe, expect, it } from 'vitest';
import { ScriptedEditRunner } from '../jobs/scripted-edit-runner.ts';
import { editForm } from './app-harness.ts';
import { startLiveServer } from './live-server.ts';
import { discPng, gradientPng } from './png-bytes.ts';

const USERS = ['ana', 'ben', 'cyd', 'boss'] as const;

describe('admission when the global queue fills', () => {
  it('shares the last places: 40 concurrent submissions from 4 users, a global limit of 15, everyone gets in', async () => {
    const runner = new ScriptedEditRunner({ holdSteps: true });
    const live = await startLiveServer({
      runners: () => [runner],
      limits: { maxQueued: 15, maxQueuedPerUser: 10 },
      shutdownMs: 500,
    });
    try {
      // The worst order for fairness: each user's ten requests in one burst, one user after another.
      const submissions = USERS.flatMap((user) => Array.from({ length: 10 }, () => user));
      const answers = await Promise.all(
        submissions.map(async (user) => {
          const form = editForm({
            settings: { steps: 1, strength: 0.5 },
            source: gradientPng(),
            exemplars: [discPng()],
          });
          const response = await live.fetchAs(user, '/v1/edits', { method: 'POST', body: form });
          const body = await response.json();
          return { user, status: response.status, retryAfter: response.headers.get('retry-after'), body };
        }),
      );
      const accepted = Object.fromEntries(
        USERS.map((user) => [user, answers.filter((a) => a.user === user && a.status === 202).length]),
      );
      for (const user of USERS) expect(accepted[user], JSON.stringify(accepted)).toBeGreaterThanOrEqual(1);
      const refused = answers.filter((answer) => answer.status !== 202);
      expect(refused.every((answer) => answer.status === 429)).toBe(true);
      expect(refused.every((answer) => ErrorBody.parse(answer.body).error.code === 'queue_full')).toBe(true);
      expect(live.server.queue.stats().queued).toBeLessThanOrEqual(15);
      // Retry-After comes from the user's place and the job time, not a flat second: the user with the
      // most jobs waiting is told to wait longer than one with few.
      const retryOf = (user: string) =>
        Math.max(...refused.filter((answer) => answer.user === user).map((answer) => Number(answer.retryAfter)));
      const most = USERS.reduce((a, b) => (accepted[a] >= accepted[b] ? a : b));
      expect(retryOf(most)).toBeGreaterThan(1);
      console.info(`accepted per user: ${JSON.stringify(accepted)}; Retry-After of ${most}: ${retryOf(most)} s`);
    } finally {
      await live.stop();
    }
  });
});
