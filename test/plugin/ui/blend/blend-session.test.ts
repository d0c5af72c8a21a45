import { EditSettings } from '@pixels/shared';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ExportedLayers } from '../../../../plugin/src/messages/exported-layers.ts';
import type { PendingJob } from '../../../../plugin/src/messages/job-records.ts';
import { DEFAULT_PANEL_SETTINGS, type PanelSettings } from '../../../../plugin/src/messages/panel-settings.ts';
import type { PlaceResultMessage, UiToMain } from '../../../../plugin/src/messages/ui-to-main.ts';
import { decodePng } from '../../../../plugin/src/png/png-decode.ts';
import { PixelsClient } from '../../../../plugin/src/ui/api/pixels-client.ts';
import { BlendSession } from '../../../../plugin/src/ui/blend/blend-session.ts';
import type { SessionView } from '../../../../plugin/src/ui/blend/job-view.ts';
import { exportedLayers } from '../../support/exported-layers.ts';
import { FakePixelsServer, type FakeServerOptions } from '../../support/fake-pixels-server.ts';
import { patternRaster, pixelAt, solidRaster } from '../../support/test-images.ts';

let server: FakePixelsServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

/** A session wired to a fake main thread (records what it is sent) and a fake PIXELS server. */
async function harness(options: FakeServerOptions = {}, layers?: ExportedLayers) {
  server = new FakePixelsServer({ stepDelayMs: 2, ...options });
  await server.start();
  const selection =
    layers ??
    (await exportedLayers({
      source: { id: 'src', raster: patternRaster(48, 32) },
      exemplars: [{ id: 'ex', raster: solidRaster(10, 8, [255, 0, 0, 255]), x: 20, y: 12 }],
      notes: ['Working at 48×32 px'],
    }));
  const sent: UiToMain[] = [];
  const placed: PlaceResultMessage[] = [];
  const views: SessionView[] = [];
  const session = new BlendSession({
    bridge: {
      exportLayers: async () => selection,
      send: (message) => sent.push(message),
      placeResult: async (message) => {
        placed.push({ type: 'place-result', ...message });
        return {
          type: 'placed',
          jobId: message.jobId,
          nodeId: `node-${message.jobId}`,
          name: `result ${message.seed}`,
          notes: message.notes,
        };
      },
    },
    clientFor: (serverUrl) => new PixelsClient(serverUrl, ''),
    decode: decodePng,
    onChange: (view) => views.push(view),
  });
  return { session, sent, placed, views, client: new PixelsClient(server.url, ''), fake: server };
}

function lastView(views: SessionView[]): SessionView {
  return views[views.length - 1];
}

describe('BlendSession', () => {
  it('exports, composites, submits, follows and places a blend, recording where the time went', async () => {
    const { session, sent, placed, views, client, fake } = await harness({ steps: 3 });
    // A linear edge: the server only builds smooth ones, so the panel builds and sends this map.
    const settings: PanelSettings = {
      ...DEFAULT_PANEL_SETTINGS,
      falloff: 'linear',
      edit: EditSettings.parse({ prompt: 'moss', previews: true, grow: 2, feather: 4 }),
    };
    await session.start(settings, client);

    const submission = fake.submissions[0];
    expect(submission.exemplars).toHaveLength(1);
    const exemplar = await decodePng(submission.exemplars[0]);
    expect([exemplar.width, exemplar.height]).toEqual([48, 32]);
    expect(pixelAt(exemplar, 20, 12)).toEqual([255, 0, 0, 255]);
    expect(pixelAt(exemplar, 19, 12)).toEqual([0, 0, 0, 0]);
    const map = await decodePng(submission.map!);
    expect(pixelAt(map, 25, 15)).toEqual([255, 255, 255, 255]);
    expect(pixelAt(map, 0, 31)).toEqual([0, 0, 0, 255]);
    expect(submission.settings).toMatchObject({ prompt: 'moss', invertMap: false });

    expect(sent.filter((message) => message.type === 'job-submitted')).toEqual([
      {
        type: 'job-submitted',
        job: expect.objectContaining({ jobId: 'job-1', sourceId: 'src', exemplarIds: ['ex'], width: 48, height: 32 }),
      },
    ]);
    expect(placed).toHaveLength(1);
    expect(placed[0]).toMatchObject({
      jobId: 'job-1',
      sourceId: 'src',
      width: 48,
      height: 32,
      seed: fake.jobs.get('job-1')!.seed,
    });
    const result = await decodePng(placed[0].png);
    const source = await decodePng(submission.source);
    expect(pixelAt(result, 3, 3)).toEqual(
      pixelAt(source, 3, 3).map((value, channel) => (channel < 3 ? 255 - value : value)),
    );
    const timings = placed[0].timings!;
    for (const part of ['exportMs', 'composeMs', 'uploadMs', 'serverMs', 'downloadMs', 'decodeMs'] as const) {
      expect(timings[part]).toBeGreaterThanOrEqual(0);
    }
    expect(timings.totalMs).toBeGreaterThanOrEqual(timings.serverMs);

    const phases = views.flatMap((view) => view.jobs.map((job) => job.phase));
    expect(phases).toEqual(
      expect.arrayContaining(['uploading', 'queued', 'running', 'downloading', 'placing', 'placed']),
    );
    expect(views.some((view) => view.jobs[0]?.preview?.startsWith('data:image/jpeg;base64,'))).toBe(true);
    expect(views.some((view) => view.jobs[0]?.step === 2 && view.jobs[0]?.totalSteps === 3)).toBe(true);
    expect(lastView(views)).toMatchObject({ phase: 'finished', notes: ['Working at 48×32 px'] });
    expect(lastView(views).jobs[0]).toMatchObject({ phase: 'placed', resultName: `result ${placed[0].seed}` });
  });

  it('is preparing until its jobs are submitted: the map preview waits for the upload too', async () => {
    const { session, fake } = await harness({ holdJobs: true });
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let uploading = false;
    class HeldUpload extends PixelsClient {
      override async submit(...args: Parameters<PixelsClient['submit']>) {
        uploading = true;
        await held;
        return super.submit(...args);
      }
    }
    const running = session.start(DEFAULT_PANEL_SETTINGS, new HeldUpload(fake.url, ''));
    await vi.waitFor(() => expect(uploading).toBe(true));
    expect(session.isPreparing).toBe(true);
    release();
    await vi.waitFor(() => expect(fake.submissions).toHaveLength(1));
    await vi.waitFor(() => expect(session.isPreparing).toBe(false));
    expect(session.isRunning).toBe(true);
    fake.releaseJobs();
    await running;
  });

  it("starts the result's download as the done event is read, before the event stream is closed", async () => {
    const { session, placed, fake } = await harness();
    const order: string[] = [];
    class LoggingClient extends PixelsClient {
      override result(resultUrl: string, signal?: AbortSignal): Promise<Uint8Array> {
        order.push('result requested');
        return super.result(resultUrl, signal);
      }
      override async streamEvents(...args: Parameters<PixelsClient['streamEvents']>): Promise<void> {
        await super.streamEvents(...args);
        order.push('events closed');
      }
    }
    await session.start(DEFAULT_PANEL_SETTINGS, new LoggingClient(fake.url, ''));
    expect(placed).toHaveLength(1);
    expect(order).toEqual(['result requested', 'events closed']);
  });

  it('runs one job per variation, counting fixed seeds up', async () => {
    const { session, placed, client, fake } = await harness();
    await session.start(
      { ...DEFAULT_PANEL_SETTINGS, variations: 3, seedMode: 'fixed', edit: EditSettings.parse({ seed: 10 }) },
      client,
    );
    expect(fake.submissions.map((submission) => submission.settings.seed)).toEqual([10, 11, 12]);
    expect(placed.map((message) => message.seed).sort()).toEqual([10, 11, 12]);
  });

  it('cancels every unfinished job on the server and forgets it', async () => {
    const { session, sent, views, client, fake } = await harness({ holdJobs: true });
    const running = session.start({ ...DEFAULT_PANEL_SETTINGS, variations: 2 }, client);
    await vi.waitFor(() => expect(fake.jobs.size).toBe(2));
    await vi.waitFor(() => expect(lastView(views).jobs.every((job) => job.phase === 'queued')).toBe(true));
    await session.cancel();
    await running;
    expect([...fake.jobs.values()].map((job) => job.state)).toEqual(['canceled', 'canceled']);
    expect(fake.requests.filter((request) => request.method === 'DELETE').map((request) => request.path)).toEqual([
      '/v1/jobs/job-1',
      '/v1/jobs/job-2',
    ]);
    expect(
      sent.filter((message) => message.type === 'job-ended').map((message) => (message as { jobId: string }).jobId),
    ).toEqual(['job-1', 'job-2']);
    expect(lastView(views).jobs.map((job) => job.phase)).toEqual(['canceled', 'canceled']);
    expect(session.isRunning).toBe(false);
  });

  it('shows a failed job in plain words with what to do', async () => {
    const { session, sent, placed, views, client } = await harness({
      failJobsWith: { code: 'model_error', message: 'The UNet ran out of memory at 4096x4096.' },
    });
    await session.start(DEFAULT_PANEL_SETTINGS, client);
    expect(placed).toEqual([]);
    expect(lastView(views).jobs[0]).toMatchObject({
      phase: 'failed',
      problem: {
        message: 'The UNet ran out of memory at 4096x4096.',
        advice:
          "The model failed on the server. Try again or pick another model; tell the server's admin if it repeats.",
      },
    });
    expect(sent.some((message) => message.type === 'job-ended')).toBe(true);
  });

  it('says why a submission was refused and stops submitting', async () => {
    const { session, views, fake } = await harness({ token: 'needed' });
    await session.start({ ...DEFAULT_PANEL_SETTINGS, variations: 2 }, new PixelsClient(fake.url, 'wrong'));
    expect(lastView(views).jobs).toHaveLength(1);
    expect(lastView(views).jobs[0].problem?.advice).toBe(
      'Check the access token under Server (ask whoever runs the server for one).',
    );
  });

  it('reports an export the main thread refused', async () => {
    const { session, views, client } = await harness();
    const refusing = new BlendSession({
      bridge: {
        exportLayers: async () => {
          throw new Error('The exemplar "Far" lies outside the source "Hero".');
        },
        send: () => undefined,
        placeResult: async () => {
          throw new Error('unreachable');
        },
      },
      clientFor: () => client,
      decode: decodePng,
      onChange: (view) => views.push(view),
    });
    await refusing.start(DEFAULT_PANEL_SETTINGS, client);
    expect(lastView(views).problem?.message).toBe('The exemplar "Far" lies outside the source "Hero".');
    expect(session.isRunning).toBe(false);
  });

  it('picks up a job submitted before the plugin was closed and places it', async () => {
    const { session, placed, views, client, fake } = await harness({ steps: 2 });
    const source = await (await import('../../support/test-images.ts')).pngOf(patternRaster(16, 12));
    const submitted = await client.submit(EditSettings.parse({ seed: 77 }), { source, exemplars: [source] });
    const pending: PendingJob = {
      jobId: submitted.id,
      serverUrl: fake.url,
      sourceId: 'src',
      exemplarIds: ['ex'],
      settings: EditSettings.parse({ seed: 77 }),
      width: 16,
      height: 12,
      submittedAt: new Date().toISOString(),
    };
    await session.resume([pending]);
    expect(placed).toHaveLength(1);
    expect(placed[0]).toMatchObject({ jobId: submitted.id, seed: 77, width: 16, height: 12, sourceId: 'src' });
    expect(placed[0].timings).toBeUndefined();
    expect(lastView(views).jobs[0]).toMatchObject({ label: 'Job from before the plugin closed', phase: 'placed' });
  });

  it('forgets a resumed job the server no longer knows', async () => {
    const { session, sent, views, fake } = await harness();
    await session.resume([
      {
        jobId: 'gone',
        serverUrl: fake.url,
        sourceId: 'src',
        exemplarIds: [],
        settings: EditSettings.parse({}),
        width: 4,
        height: 4,
        submittedAt: new Date().toISOString(),
      },
    ]);
    expect(lastView(views).jobs[0]).toMatchObject({ phase: 'failed', problem: { message: 'No job gone.' } });
    expect(sent).toContainEqual({ type: 'job-ended', jobId: 'gone' });
  });
});
