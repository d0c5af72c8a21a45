import { ErrorBody, Job, SubmitResponse } from '@pixels/shared';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { editForm, longEditForm } from './app-harness.ts';
import { type LiveServer, startLiveServer } from './live-server.ts';
import { discPng, gradientPng } from './png-bytes.ts';
import { readEventStream } from './sse-client.ts';

const USERS = ['ana', 'ben', 'cyd'] as const;
const PER_USER_LIMIT = 2;

let live: LiveServer;
beforeAll(async () => {
  live = await startLiveServer({ limits: { maxQueuedPerUser: PER_USER_LIMIT, maxQueued: 100 } });
});
afterAll(async () => {
  await live?.stop();
});

describe('30 concurrent submissions from 3 tokens', () => {
  it('all finish or are refused with 429, none lost, and the queue serves the users round robin', async () => {
    // An admin's long job holds the single worker so that all 30 submissions meet in the queue, and
    // until it is canceled: at 512² its 150 steps take seconds (at 64² CI once saw it finish first).
    const blocker = await live.submit('boss', longEditForm());
    await vi.waitFor(async () =>
      expect((await (await live.fetchAs('boss', blocker.jobUrl)).json()).state).toBe('running'),
    );

    const submissions = USERS.flatMap((user) => Array.from({ length: 10 }, (_, index) => ({ user, index }))).sort(
      (a, b) => a.index - b.index,
    );
    const answers = await Promise.all(
      submissions.map(async ({ user, index }) => {
        const form = editForm({
          settings: { steps: 2, strength: 0.5, seed: index },
          source: gradientPng(),
          exemplars: [discPng()],
        });
        const response = await live.fetchAs(user, '/v1/edits', { method: 'POST', body: form });
        return { user, response, body: await response.json() };
      }),
    );

    const accepted = answers.filter((answer) => answer.response.status === 202);
    const refused = answers.filter((answer) => answer.response.status === 429);
    expect(accepted.length + refused.length).toBe(30);
    for (const user of USERS) expect(accepted.filter((answer) => answer.user === user).length).toBe(PER_USER_LIMIT);
    for (const answer of refused) {
      expect(ErrorBody.parse(answer.body).error.code).toBe('queue_full');
      expect(Number(answer.response.headers.get('Retry-After'))).toBeGreaterThanOrEqual(1);
    }
    const jobs = accepted.map((answer) => ({ user: answer.user, submit: SubmitResponse.parse(answer.body) }));
    expect(new Set(jobs.map((job) => job.submit.id)).size).toBe(jobs.length);
    // A position is a snapshot: a user's first job may go ahead of others' earlier jobs (fair turns).
    for (const job of jobs) expect(job.submit.position).toBeLessThanOrEqual(jobs.length);
    const queued = await Promise.all(
      jobs.map(async (job) => Job.parse(await (await live.fetchAs(job.user, job.submit.jobUrl)).json())),
    );
    expect(queued.map((job) => job.position).sort((a, b) => a! - b!)).toEqual([1, 2, 3, 4, 5, 6]);
    const promisedOrder = jobs
      .map((job, index) => ({ user: job.user, position: queued[index].position! }))
      .sort((a, b) => a.position - b.position)
      .map((entry) => entry.user);

    const streams = jobs.map(async (job) => readEventStream(await live.fetchAs(job.user, job.submit.eventsUrl)));
    await live.fetchAs('boss', blocker.jobUrl, { method: 'DELETE' });
    const finals = await Promise.all(streams);
    expect(finals.map((events) => events.at(-1)?.event.type)).toEqual(jobs.map(() => 'done'));

    // Every accepted job finished with a result only its owner can fetch.
    const finished = await Promise.all(
      jobs.map(async (job) => {
        const result = await live.fetchAs(job.user, `${job.submit.jobUrl}/result`);
        expect(result.status).toBe(200);
        expect((await result.arrayBuffer()).byteLength).toBeGreaterThan(100);
        return { user: job.user, job: Job.parse(await (await live.fetchAs(job.user, job.submit.jobUrl)).json()) };
      }),
    );
    // Started in fair turns: each round serves every user once, always in the same rotation.
    const startOrder = finished
      .sort((a, b) => Date.parse(a.job.startedAt!) - Date.parse(b.job.startedAt!))
      .map((entry) => entry.user);
    const rotation = startOrder.slice(0, USERS.length);
    expect([...rotation].sort()).toEqual([...USERS]);
    expect(startOrder).toEqual([...rotation, ...rotation]);
    // And the positions the queue reported were the truth.
    expect(startOrder).toEqual(promisedOrder);
    expect(live.server.queue.stats().byState).toMatchObject({ done: 6, canceled: 1, failed: 0, queued: 0, running: 0 });
  });
});
