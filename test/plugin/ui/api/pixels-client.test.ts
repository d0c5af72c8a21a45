import { EditSettings, type JobEvent } from '@pixels/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { decodePng } from '../../../../plugin/src/png/png-decode.ts';
import { ApiError } from '../../../../plugin/src/ui/api/api-error.ts';
import { PixelsClient } from '../../../../plugin/src/ui/api/pixels-client.ts';
import { FAKE_MODEL, FakePixelsServer } from '../../support/fake-pixels-server.ts';
import { patternRaster, pixelAt, pngOf } from '../../support/test-images.ts';

let server: FakePixelsServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

async function started(options: ConstructorParameters<typeof FakePixelsServer>[0] = {}): Promise<FakePixelsServer> {
  server = new FakePixelsServer(options);
  await server.start();
  return server;
}

async function upload() {
  return {
    source: await pngOf(patternRaster(24, 16)),
    exemplars: [await pngOf(patternRaster(24, 16, 128)), await pngOf(patternRaster(24, 16, 255))],
    map: await pngOf({ data: new Uint8Array(24 * 16).fill(255), width: 24, height: 16, channels: 1 }),
  };
}

describe('PixelsClient', () => {
  it('lists models with the bearer token', async () => {
    const fake = await started({ token: 's3cret' });
    const client = new PixelsClient(`${fake.url}/`, 's3cret');
    expect(await client.models()).toEqual({ models: [FAKE_MODEL] });
    expect(fake.requests[0].headers.authorization).toBe('Bearer s3cret');
  });

  it('turns a refused token into an error with advice', async () => {
    const fake = await started({ token: 's3cret' });
    const error = await new PixelsClient(fake.url, 'wrong').models().catch((caught) => caught);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ code: 'unauthorized', status: 401, message: 'Missing or wrong bearer token.' });
    expect(error.advice).toBe('Check the access token under Server (ask whoever runs the server for one).');
  });

  it('submits the settings, the source, the exemplars in order and the map as multipart', async () => {
    const fake = await started();
    const client = new PixelsClient(fake.url, '');
    const parts = await upload();
    const submitted = await client.submit(EditSettings.parse({ prompt: 'moss', seed: 5 }), parts);
    expect(submitted).toMatchObject({ id: 'job-1', state: 'queued', position: 1, eventsUrl: '/v1/jobs/job-1/events' });
    const received = fake.submissions[0];
    expect(received.settings).toEqual(EditSettings.parse({ prompt: 'moss', seed: 5 }));
    expect(received.source).toEqual(parts.source);
    expect(received.exemplars).toEqual(parts.exemplars);
    expect(received.map).toEqual(parts.map);
  });

  it('checks settings before uploading, naming the field', async () => {
    const fake = await started();
    const client = new PixelsClient(fake.url, '');
    const bad = { ...EditSettings.parse({}), steps: 500 } as EditSettings;
    const error = await client.submit(bad, await upload()).catch((caught) => caught);
    expect(error).toMatchObject({
      code: 'invalid_settings',
      field: 'settings.steps',
      message: 'settings.steps: Too big: expected number to be <=150',
    });
    expect(fake.submissions).toEqual([]);
  });

  it("passes on the server's error code, message and field", async () => {
    const refusing = new PixelsClient('http://localhost:1', '', async () =>
      Response.json(
        {
          error: {
            code: 'image_too_large',
            message: 'The source is 9000x9000; the limit is 4096x4096.',
            field: 'source',
          },
        },
        { status: 413 },
      ),
    );
    const error = await refusing.submit(EditSettings.parse({}), await upload()).catch((caught) => caught);
    expect(error).toMatchObject({
      code: 'image_too_large',
      status: 413,
      field: 'source',
      message: 'The source is 9000x9000; the limit is 4096x4096.',
    });
    expect(error.advice).toBe('Lower "Working size" in Settings and blend again.');
  });

  it("streams a job's events, then fetches its result and its record", async () => {
    const fake = await started({ steps: 3, stepDelayMs: 5 });
    const client = new PixelsClient(fake.url, '');
    const parts = await upload();
    const { id, eventsUrl } = await client.submit(EditSettings.parse({ previews: true }), parts);
    const events: JobEvent[] = [];
    await client.streamEvents(eventsUrl, ({ event }) => {
      events.push(event);
      return undefined;
    });
    expect(events.map((event) => event.type)).toEqual(['queued', 'started', 'step', 'step', 'step', 'done']);
    expect(events[2]).toMatchObject({ type: 'step', step: 1, totalSteps: 3 });
    expect((events[2] as Extract<JobEvent, { type: 'step' }>).preview).toMatch(/^[A-Za-z0-9+/]+=*$/);
    const done = events[5] as Extract<JobEvent, { type: 'done' }>;
    expect(done).toMatchObject({ width: 24, height: 16 });
    const result = await decodePng(await client.result(done.resultUrl));
    const source = await decodePng(parts.source);
    expect(pixelAt(result, 5, 7)).toEqual(
      pixelAt(source, 5, 7).map((value, channel) => (channel < 3 ? 255 - value : value)),
    );
    expect(await client.job(id)).toMatchObject({ id, state: 'done', resultUrl: `/v1/jobs/${id}/result` });
  });

  it('cancels a job', async () => {
    const fake = await started({ holdJobs: true });
    const client = new PixelsClient(fake.url, '');
    const { id } = await client.submit(EditSettings.parse({}), await upload());
    await client.cancel(id);
    expect((await client.job(id)).state).toBe('canceled');
  });

  it('tells a server that is down from one that does not speak PIXELS', async () => {
    const fake = await started();
    const url = fake.url;
    await fake.stop();
    server = undefined;
    const down = await new PixelsClient(url, '').models().catch((caught) => caught);
    expect(down).toMatchObject({ code: 'network' });
    expect(down.message).toMatch(new RegExp(`^Could not reach the server at ${url} \\(`));

    const notPixels = new PixelsClient(
      'http://localhost:1',
      '',
      async () => new Response('<html>', { status: 404, statusText: 'Not Found' }),
    );
    const wrong = await notPixels.models().catch((caught) => caught);
    expect(wrong).toMatchObject({
      code: 'protocol',
      status: 404,
      message: 'The server answered HTTP 404 Not Found without a PIXELS error body.',
    });
    const oddShape = new PixelsClient('http://localhost:1', '', async () => Response.json({ models: 'none' }));
    expect(await oddShape.models().catch((caught) => caught.message)).toMatch(
      /^http:\/\/localhost:1\/v1\/models answered in an unexpected shape \(models:/,
    );
  });

  it('keeps a path prefix for URLs the server hands out', () => {
    const client = new PixelsClient('https://gpu.example.com/pixels', '');
    expect(client.url('/v1/jobs/a/result')).toBe('https://gpu.example.com/pixels/v1/jobs/a/result');
    expect(client.url('https://cdn.example.com/r.png')).toBe('https://cdn.example.com/r.png');
  });
});
