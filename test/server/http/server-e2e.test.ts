import { readPngText } from '@pixels/server/images/png-text.ts';
import { ErrorBody, Job, ModelList, ServerStatus } from '@pixels/shared';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { editForm, longEditForm } from './app-harness.ts';
import { type LiveServer, startLiveServer } from './live-server.ts';
import { discPng, gradientPng } from './png-bytes.ts';
import { type ReceivedEvent, readEventStream } from './sse-client.ts';

let live: LiveServer;
beforeAll(async () => {
  live = await startLiveServer();
});
afterAll(async () => {
  await live?.stop();
});

/** A 64x64 edit; `steps * strength` steps actually run (the built-in model works at 512²). */
const edit = (settings: Record<string, unknown>) =>
  editForm({ settings, source: gradientPng(64, 64), exemplars: [discPng(64, 64)] });

async function errorOf(response: Response) {
  return ErrorBody.parse(await response.json()).error;
}

function pngSize(png: Uint8Array): { width: number; height: number } {
  const view = new DataView(png.buffer, png.byteOffset);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

async function jobOf(name: string, id: string) {
  return Job.parse(await (await live.fetchAs(name, `/v1/jobs/${id}`)).json());
}

describe('team server on loopback with the built-in model', () => {
  let finishedJobId = '';

  it('runs an edit: the event stream shows queue, start, steps with previews, done; the PNG carries its settings', async () => {
    const submit = await live.submit('ana', edit({ steps: 4, strength: 0.5, seed: 7, previews: true }));
    expect(submit).toMatchObject({ state: 'queued', position: 1 });
    const events = await readEventStream(await live.fetchAs('ana', submit.eventsUrl));
    const types = events.map((entry) => entry.event.type);
    expect(types[0]).toBe('queued');
    expect(types.slice(1, 2)).toEqual(['started']);
    expect(types.at(-1)).toBe('done');
    expect(events.map((entry) => entry.id)).toEqual([...events.map((entry) => entry.id)].sort((a, b) => a - b));
    const started = events[1].event as Extract<ReceivedEvent['event'], { type: 'started' }>;
    expect(started).toEqual({
      type: 'started',
      seed: 7,
      totalSteps: 2,
      // Two steps over a soft map: the run says the map's greys become two levels.
      warnings: [
        "Only 2 denoising steps run, so the edit map's greys are quantised to 2 levels; raise steps or strength for a smoother blend.",
      ],
    });
    const steps = events.flatMap((entry) => (entry.event.type === 'step' ? [entry.event] : []));
    expect(steps.map((step) => [step.step, step.totalSteps])).toEqual([
      [1, 2],
      [2, 2],
    ]);
    for (const step of steps)
      expect(Buffer.from(step.preview!, 'base64').subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
    expect(events.at(-1)?.event).toEqual({
      type: 'done',
      resultUrl: `/v1/jobs/${submit.id}/result`,
      width: 64,
      height: 64,
    });

    const job = await jobOf('ana', submit.id);
    expect(job).toMatchObject({ state: 'done', seed: 7, progress: { step: 2, totalSteps: 2 } });
    const result = await live.fetchAs('ana', job.resultUrl!);
    expect(result.status).toBe(200);
    expect(result.headers.get('Content-Type')).toBe('image/png');
    const engineMs = Number(/engine;dur=([\d.]+)/.exec(result.headers.get('Server-Timing') ?? '')?.[1]);
    const png = new Uint8Array(await result.arrayBuffer());
    expect(pngSize(png)).toEqual({ width: 64, height: 64 });
    const embedded = [...readPngText(png).values()].join('\n');
    expect(embedded).toContain('"seed":7');
    expect(embedded).toContain('"strength":0.5');
    const done = live.logLines.find((line) => line.msg === 'job done' && line.jobId === submit.id);
    expect(done).toMatchObject({
      owner: 'ana',
      runMs: expect.any(Number),
      engineMs: expect.any(Number),
      waitMs: expect.any(Number),
    });
    // Server-Timing tells the engine time the job measured, which is part of its run (whole milliseconds).
    expect(engineMs).toBe(Number((done!.engineMs as number).toFixed(1)));
    expect(engineMs).toBeGreaterThan(0);
    expect(engineMs).toBeLessThanOrEqual((done!.runMs as number) + 1);
    finishedJobId = submit.id;
  });

  it('keeps jobs to their owner on the wire: no token, a wrong token and another user are refused', async () => {
    expect(finishedJobId).not.toBe('');
    const path = `/v1/jobs/${finishedJobId}`;
    const anonymous = await live.fetchAs(undefined, path);
    expect([anonymous.status, (await errorOf(anonymous)).code]).toEqual([401, 'unauthorized']);
    const forged = await live.fetch(path, { headers: { Authorization: 'Bearer ana-token-0123456789abcdeX' } });
    expect([forged.status, (await errorOf(forged)).code]).toEqual([401, 'unauthorized']);
    for (const suffix of ['', '/events', '/result']) {
      const other = await live.fetchAs('ben', `${path}${suffix}`);
      expect([other.status, (await errorOf(other)).code]).toEqual([403, 'forbidden']);
    }
    const deleteByOther = await live.fetchAs('ben', path, { method: 'DELETE' });
    expect(deleteByOther.status).toBe(403);
    expect((await jobOf('ana', finishedJobId)).state).toBe('done');
    expect((await live.fetchAs('boss', path)).status).toBe(200);
  });

  it('deletes a finished job and its result on DELETE', async () => {
    const submit = await live.submit('cyd', edit({ steps: 2, strength: 0.5 }));
    await readEventStream(await live.fetchAs('cyd', submit.eventsUrl));
    const deleted = await live.fetchAs('cyd', submit.jobUrl, { method: 'DELETE' });
    expect(Job.parse(await deleted.json()).state).toBe('done');
    const gone = await live.fetchAs('cyd', `${submit.jobUrl}/result`);
    expect([gone.status, (await errorOf(gone)).code]).toEqual([404, 'not_found']);
  });

  it('answers the service endpoints: models, health, readiness, OpenAPI, API page, metrics', async () => {
    const models = ModelList.parse(await (await live.fetchAs('ana', '/v1/models')).json());
    expect(models.models.map((model) => model.name)).toContain('builtin');
    expect(ServerStatus.parse(await (await live.fetchAs(undefined, '/healthz')).json()).status).toBe('ok');
    expect(ServerStatus.parse(await (await live.fetchAs(undefined, '/readyz')).json())).toMatchObject({
      status: 'ready',
      workers: 1,
    });
    expect((await (await live.fetchAs(undefined, '/openapi.json')).json()).openapi).toBe('3.1.0');
    expect(await (await live.fetchAs(undefined, '/docs')).text()).toContain('POST</span> <code>/v1/edits</code>');
    const metrics = await (await live.fetchAs('boss', '/metrics')).text();
    expect(metrics).toMatch(/pixels_jobs_finished_total\{state="done"\} [1-9]/);
    expect(metrics).toMatch(/pixels_step_duration_seconds_count [1-9]/);
  });

  it('cancels a queued job at once and a running job within one step', async () => {
    // Its steps outlast a request's round trip, so the bound below measures the cancel, not the loopback.
    const long = await live.submit('ana', longEditForm());
    const waiting = await live.submit('ana', edit({ steps: 2, strength: 0.5 }));
    expect(waiting.position).toBe(1);
    const longStream = await live.fetchAs('ana', long.eventsUrl);
    const seen: ReceivedEvent[] = [];
    let firstStep: () => void = () => {};
    const reachedFirstStep = new Promise<void>((resolve) => {
      firstStep = resolve;
    });
    const streamDone = readEventStream(longStream, (entry) => {
      seen.push(entry);
      if (entry.event.type === 'step') firstStep();
      return false;
    });

    const canceledQueued = await live.fetchAs('ana', waiting.jobUrl, { method: 'DELETE' });
    expect(Job.parse(await canceledQueued.json()).state).toBe('canceled');
    const queuedEvents = await readEventStream(await live.fetchAs('ana', waiting.eventsUrl));
    expect(queuedEvents.map((entry) => entry.event.type)).toEqual(['queued', 'canceled']);

    await reachedFirstStep;
    // The server's own count just before the cancel: the stream's last event can trail the engine
    // by several steps on a loaded machine, which says nothing about how fast a cancel lands.
    const stepsBeforeCancel = Job.parse(await (await live.fetchAs('ana', long.jobUrl)).json()).progress!.step;
    const canceledRunning = await live.fetchAs('ana', long.jobUrl, { method: 'DELETE' });
    const afterCancel = Job.parse(await canceledRunning.json());
    expect(afterCancel.state).toBe('canceled');
    await streamDone;
    expect(seen.at(-1)?.event).toEqual({ type: 'canceled', reason: 'owner' });
    // The step under way when the cancel arrived may finish (and one may end between the two requests); no more.
    expect(afterCancel.progress!.step).toBeLessThanOrEqual(stepsBeforeCancel + 2);
    expect(afterCancel.progress!.step).toBeLessThan(150);
    const result = await live.fetchAs('ana', `${long.jobUrl}/result`);
    expect([result.status, (await errorOf(result)).code]).toEqual([409, 'canceled']);
  });

  it('resumes a dropped event stream from Last-Event-ID without losing the end', async () => {
    const submit = await live.submit('ben', edit({ steps: 8, strength: 0.5 }));
    const firstPart = await readEventStream(
      await live.fetchAs('ben', submit.eventsUrl),
      (entry) => entry.event.type === 'step',
    );
    const lastSeen = firstPart.at(-1)!;
    expect(lastSeen.event.type).toBe('step');
    // The server notices the drop and stops feeding that connection.
    await vi.waitFor(async () => {
      expect(await (await live.fetchAs('boss', '/metrics')).text()).toContain('pixels_event_streams_open 0');
    });
    await vi.waitFor(async () => expect((await jobOf('ben', submit.id)).progress?.step).toBeGreaterThanOrEqual(2), {
      timeout: 30_000,
      interval: 100,
    });

    const resumed = await readEventStream(
      await live.fetchAs('ben', submit.eventsUrl, { headers: { 'Last-Event-ID': String(lastSeen.id) } }),
    );
    expect(resumed.every((entry) => entry.id > lastSeen.id)).toBe(true);
    expect(resumed.some((entry) => entry.event.type === 'queued' || entry.event.type === 'started')).toBe(false);
    expect(resumed.at(-1)?.event.type).toBe('done');
    const resumedSteps = resumed.flatMap((entry) => (entry.event.type === 'step' ? [entry.event.step] : []));
    const firstStep = (lastSeen.event as { step: number }).step;
    expect(resumedSteps.every((step) => step > firstStep)).toBe(true);

    // Resuming after the end replays just the end; resuming from the last id gives an empty, closed stream.
    const doneId = resumed.at(-1)!.id;
    const replay = await readEventStream(await live.fetchAs('ben', `${submit.eventsUrl}?lastEventId=${doneId - 1}`));
    expect(replay.map((entry) => entry.event.type)).toEqual(['done']);
    expect(await readEventStream(await live.fetchAs('ben', `${submit.eventsUrl}?lastEventId=${doneId}`))).toEqual([]);
    const badId = await live.fetchAs('ben', submit.eventsUrl, { headers: { 'Last-Event-ID': 'yesterday' } });
    expect([badId.status, (await errorOf(badId)).field]).toEqual([400, 'Last-Event-ID']);
  });
});
