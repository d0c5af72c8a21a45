import { describe, expect, it } from 'vitest';
import { bearer } from '../http/app-harness.ts';
import { readEventStream } from '../http/sse-client.ts';
import { startCluster } from './cluster.ts';
import {
  type AcceptedJob,
  type JobLedger,
  type Observation,
  pngSize,
  type SmallEdit,
  sha256,
  tally,
} from './job-ledger.ts';

/**
 * Issue 10's fault tests: real redis-server, real `pixels serve --redis` and `pixels worker`
 * processes, faults dealt by pid. In each, a counted set of edits is accepted, the fault happens,
 * and every accepted job must end `done`, or `failed`/`canceled` with a reason its owner can read
 * through GET /v1/jobs/:id. Zero lost, and the count is asserted.
 */

/** Done in about a second on the built-in model. */
const QUICK: SmallEdit = { side: 64, steps: 2 };
/** Runs for a few seconds, so it is still running (or still queued) when the fault strikes. */
const LONG: SmallEdit = { side: 128, steps: 30 };
/** Everything accepted must have ended within this after the fault (stall detection, retries, reconnects). */
const SETTLE_MS = 120_000;
const TEST_MS = 240_000;

async function expectAllEnded(ledger: JobLedger, expectedCount: number): Promise<Map<string, Observation>> {
  const seen = await ledger.waitUntilAllEnded(SETTLE_MS);
  const outcome = tally(ledger, seen);
  expect(outcome.lost, `jobs lost or never ended: ${JSON.stringify(outcome)}`).toEqual([]);
  expect(outcome.accepted).toBe(expectedCount);
  expect(outcome.done + outcome.failed + outcome.canceled).toBe(expectedCount);
  return seen;
}

/** Every done job's PNG downloads, as its owner, at the size of its source. */
async function expectResults(ledger: JobLedger, seen: Map<string, Observation>): Promise<void> {
  for (const job of ledger.accepted) {
    const observation = seen.get(job.id);
    if (observation?.kind !== 'job' || observation.job.state !== 'done') continue;
    const result = await ledger.result(job);
    expect(result.status, `result of ${job.id}`).toBe(200);
    const side = observation.job.settings.steps === QUICK.steps ? QUICK.side : LONG.side;
    expect(pngSize(result.bytes)).toEqual({ width: side, height: side });
  }
}

/** Waits (bounded) for the job's first step event over its event stream, read as the plugin reads it. */
async function firstStep(url: string, job: AcceptedJob): Promise<void> {
  const response = await fetch(`${url}/v1/jobs/${job.id}/events`, {
    headers: bearer(job.owner),
    signal: AbortSignal.timeout(60_000),
  });
  expect(response.status).toBe(200);
  const events = await readEventStream(response, (entry) => entry.event.type === 'step');
  expect(events.at(-1)?.event.type, `events of ${job.id}: ${JSON.stringify(events)}`).toBe('step');
}

async function downloadHashes(ledger: JobLedger, jobs: readonly AcceptedJob[]): Promise<string[]> {
  return Promise.all(
    jobs.map(async (job) => {
      const result = await ledger.result(job);
      expect(result.status, `result of ${job.id}`).toBe(200);
      return sha256(result.bytes);
    }),
  );
}

async function submitAll(ledger: JobLedger, owners: readonly string[], edit: SmallEdit): Promise<AcceptedJob[]> {
  const accepted: AcceptedJob[] = [];
  for (const owner of owners) {
    const job = await ledger.submit(owner, edit);
    expect(job, `refused: ${JSON.stringify(ledger.refused)}`).toBeDefined();
    accepted.push(job!);
  }
  return accepted;
}

describe('scale-out on Redis: faults lose no job', { timeout: TEST_MS }, () => {
  it('a worker killed with SIGKILL mid-job has that job retried on the other worker; every job ends', async () => {
    const cluster = await startCluster();
    await cluster.startServe();
    const workers = await Promise.all([cluster.startWorker('w1'), cluster.startWorker('w2')]);
    const jobs = await submitAll(cluster.ledger, ['ana', 'ben', 'cyd', 'ana'], LONG);

    await firstStep(cluster.url, jobs[0]);
    const victim = await cluster.workerRunning(jobs[0].id, workers);
    const survivor = workers.find((worker) => worker !== victim)!;
    await victim.stop('SIGKILL');

    const seen = await expectAllEnded(cluster.ledger, 4);
    // Retried once on the worker still alive, and finished there: never lost, never stuck.
    expect(seen.get(jobs[0].id)).toMatchObject({ kind: 'job', job: { state: 'done' } });
    expect(survivor.lines.some((line) => JSON.stringify(line).includes(jobs[0].id))).toBe(true);
    expect(survivor.running).toBe(true);
    await expectResults(cluster.ledger, seen);
  });

  it('the API node restarts (SIGTERM, then SIGKILL) with jobs queued and results stored: all still there, all done', async () => {
    const cluster = await startCluster();
    const first = await cluster.startServe();
    await cluster.startWorker('w1');
    const stored = await submitAll(cluster.ledger, ['ana', 'ben'], QUICK);
    const storedSeen = await expectAllEnded(cluster.ledger, 2);
    expect([...storedSeen.values()].map((seen) => seen.kind === 'job' && seen.job.state)).toEqual(['done', 'done']);
    const hashes = await downloadHashes(cluster.ledger, stored);

    // One worker and four long edits: at least two are still queued when the node stops.
    const queued = await submitAll(cluster.ledger, ['ana', 'ben', 'cyd', 'ana'], LONG);
    const before = await Promise.all(queued.map((job) => cluster.ledger.observe(job)));
    const queuedStates = before.map((seen) => (seen?.kind === 'job' ? seen.job.state : seen?.kind));
    expect(queuedStates.filter((state) => state === 'queued').length, queuedStates.join()).toBeGreaterThanOrEqual(2);
    await first.stop('SIGTERM');
    expect((await first.exited).code).toBe(0);

    const second = await cluster.startServe();
    for (const job of [...stored, ...queued]) {
      const seen = await cluster.ledger.observe(job);
      expect(seen, `job ${job.id} after the restart`).toMatchObject({ kind: 'job' });
      // A graceful stop of one API node is not the cluster's shutdown: it cancels nobody's job.
      if (seen?.kind === 'job') expect(seen.job.state, `job ${job.id}`).not.toBe('canceled');
    }
    // Two more accepted by the second node, then it crashes: one worker, so at least one still waits.
    const late = await submitAll(cluster.ledger, ['cyd', 'ben'], LONG);
    const lateStates = await Promise.all(late.map((job) => cluster.ledger.observe(job)));
    expect(lateStates.some((seen) => seen?.kind === 'job' && seen.job.state === 'queued')).toBe(true);
    await second.stop('SIGKILL');

    await cluster.startServe();
    const seen = await expectAllEnded(cluster.ledger, 8);
    // A worker was alive throughout: nothing had a reason to fail, and no restart canceled a job.
    expect(tally(cluster.ledger, seen)).toMatchObject({ done: 8 });
    expect(await downloadHashes(cluster.ledger, stored)).toEqual(hashes);
    await expectResults(cluster.ledger, seen);
  });

  it('Redis is killed and restarted (AOF on): accepted jobs and stored results come back from its log', async () => {
    const cluster = await startCluster();
    const serve = await cluster.startServe();
    const worker = await cluster.startWorker('w1');
    const stored = await submitAll(cluster.ledger, ['ana', 'ben'], QUICK);
    await expectAllEnded(cluster.ledger, 2);
    const hashes = await downloadHashes(cluster.ledger, stored);
    const pending = await submitAll(cluster.ledger, ['cyd', 'ana', 'ben'], LONG);
    await firstStep(cluster.url, pending[0]);
    // appendfsync everysec: what was written more than a second ago is on disk. Two seconds after
    // the last acceptance every job is; only progress written in the last second may be lost.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await cluster.redis.stop({ hard: true });
    await cluster.redis.start();

    const after = await cluster.ledger.submitWhenReady('cyd', QUICK);
    expect(after, `refused after the restart: ${JSON.stringify(cluster.ledger.refused)}`).toBeDefined();
    const seen = await expectAllEnded(cluster.ledger, 6);
    expect(seen.get(after!.id)).toMatchObject({ kind: 'job', job: { state: 'done' } });
    expect(await downloadHashes(cluster.ledger, stored)).toEqual(hashes);
    await expectResults(cluster.ledger, seen);
    expect([serve.running, worker.running]).toEqual([true, true]);
  });

  it('the Redis connection drops for three seconds: no process dies, no job is lost, errors are clear', async () => {
    const cluster = await startCluster();
    const serve = await cluster.startServe();
    const worker = await cluster.startWorker('w1');
    const before = await submitAll(cluster.ledger, ['ana', 'ben', 'cyd'], LONG);
    await firstStep(cluster.url, before[0]);

    await cluster.redis.stop();
    const outageEnds = Date.now() + 3000;
    // While Redis is away the API answers (at once, or once Redis is back): the job as last known
    // or a clear 503, never a 500 and never "no such job". A submission is accepted, and then
    // counted, or refused with a 503 that says why.
    const during = cluster.ledger.observe(before[1]);
    const submitted = cluster.ledger.submit('ana', QUICK);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, outageEnds - Date.now())));
    await cluster.redis.start();
    const seenDuring = await during;
    expect(seenDuring === undefined ? 'unreachable' : seenDuring.kind === 'job' ? 200 : seenDuring.status).toBeOneOf([
      200, 503,
    ]);
    await submitted;
    for (const refusal of cluster.ledger.refused) {
      expect(refusal.status, refusal.body).toBe(503);
      expect(JSON.parse(refusal.body)).toMatchObject({
        error: { code: expect.any(String), message: expect.any(String) },
      });
    }

    const after = await cluster.ledger.submitWhenReady('ben', QUICK);
    expect(after, `refused after Redis came back: ${JSON.stringify(cluster.ledger.refused)}`).toBeDefined();
    const seen = await expectAllEnded(cluster.ledger, cluster.ledger.accepted.length);
    expect(cluster.ledger.accepted.length).toBeGreaterThanOrEqual(4);
    expect(seen.get(after!.id)).toMatchObject({ kind: 'job', job: { state: 'done' } });
    await expectResults(cluster.ledger, seen);
    expect([serve.running, worker.running]).toEqual([true, true]);
  });
});
