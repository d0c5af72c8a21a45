import { type RunningServer, startServer } from '@pixels/server/http/start-server.ts';
import { TokenRegistry } from '@pixels/server/http/tokens.ts';
import type { JobQueue } from '@pixels/server/jobs/job-queue.ts';
import { SubmitResponse, WorkerList } from '@pixels/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRedis, type TestRedis } from '../../helpers/redis-server.ts';
import { ScriptedEditRunner } from '../jobs/scripted-edit-runner.ts';
import { bearer, editForm, TEAM_TOKENS } from './app-harness.ts';
import { discPng, gradientPng } from './png-bytes.ts';
import { readEventStream } from './sse-client.ts';

describe('pixels serve --redis on loopback', () => {
  let redis: TestRedis;
  const servers: RunningServer<JobQueue>[] = [];
  const start = async (runners: ScriptedEditRunner[]) => {
    const server = await startServer({
      host: '127.0.0.1',
      port: 0,
      runners,
      tokens: new TokenRegistry(TEAM_TOKENS),
      redisUrl: redis.url,
      shutdownMs: 2000,
    });
    servers.push(server);
    return server;
  };
  beforeAll(async () => {
    redis = await startTestRedis();
  });
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.close()));
    await redis?.stop({ hard: true });
  });

  it('serves the unchanged API over Redis, lists its workers, and keeps results across an API node restart', async () => {
    const first = await start([new ScriptedEditRunner({ stepMs: 20 })]);
    expect((await fetch(`${first.url}/readyz`)).status).toBe(200);
    const submitted = await fetch(`${first.url}/v1/edits`, {
      method: 'POST',
      headers: bearer('ana'),
      body: editForm({ settings: { steps: 3, previews: true }, source: gradientPng(), exemplars: [discPng()] }),
    });
    expect(submitted.status).toBe(202);
    const { id, eventsUrl } = SubmitResponse.parse(await submitted.json());
    const events = await readEventStream(await fetch(`${first.url}${eventsUrl}`, { headers: bearer('ana') }));
    expect(events.map((entry) => entry.event.type)).toEqual(['queued', 'started', 'step', 'step', 'step', 'done']);
    expect(events[2].event).toMatchObject({ type: 'step', preview: expect.any(String) });
    const started = events.find((entry) => entry.event.type === 'started')!;
    const resumed = await readEventStream(
      await fetch(`${first.url}${eventsUrl}`, { headers: { ...bearer('ana'), 'Last-Event-ID': String(started.id) } }),
    );
    expect(resumed.map((entry) => entry.event.type)).toEqual(['step', 'done']);
    expect((await fetch(`${first.url}/v1/jobs/${id}`, { headers: bearer('ben') })).status).toBe(403);

    expect((await fetch(`${first.url}/v1/workers`, { headers: bearer('ana') })).status).toBe(403);
    const list = WorkerList.parse(await (await fetch(`${first.url}/v1/workers`, { headers: bearer('boss') })).json());
    expect(list.workers).toEqual([
      expect.objectContaining({
        devices: ['cpu'],
        models: ['builtin'],
        state: 'live',
        jobs: { done: 1, failed: 0, canceled: 0 },
      }),
    ]);
    expect(list.lostAfterMs).toBe(3 * list.heartbeatMs);
    const metrics = await (await fetch(`${first.url}/metrics`, { headers: bearer('boss') })).text();
    expect(metrics).toMatch(/pixels_worker_jobs_total\{worker="[^"]+",device="cpu",state="done"\} 1/);
    expect(metrics).toMatch(/pixels_worker_step_seconds_count\{worker="[^"]+",device="cpu"\} 3/);

    await first.close();
    // A new API node without workers: the job and its result are still there; it is not ready.
    const second = await start([]);
    const job = await (await fetch(`${second.url}/v1/jobs/${id}`, { headers: bearer('ana') })).json();
    expect(job).toMatchObject({ id, state: 'done', resultUrl: `/v1/jobs/${id}/result` });
    const result = await fetch(`${second.url}/v1/jobs/${id}/result`, { headers: bearer('ana') });
    expect(result.status).toBe(200);
    const png = new Uint8Array(await result.arrayBuffer());
    expect(png.byteLength).toBe(Number(result.headers.get('Content-Length')));
    expect(Buffer.from(png.subarray(1, 4)).toString('latin1')).toBe('PNG');
    expect((await fetch(`${second.url}/readyz`)).status).toBe(503);
  });
});
