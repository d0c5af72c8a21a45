import { EditSettings, type JobEvent } from '@pixels/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { PixelsClient } from '../../../../plugin/src/ui/api/pixels-client.ts';
import { followJob } from '../../../../plugin/src/ui/blend/follow-job.ts';
import { FakePixelsServer } from '../../support/fake-pixels-server.ts';
import { patternRaster, pngOf } from '../../support/test-images.ts';

let server: FakePixelsServer | undefined;
afterEach(async () => {
  await server?.stop();
});

async function submitOne(options: ConstructorParameters<typeof FakePixelsServer>[0]) {
  server = new FakePixelsServer(options);
  await server.start();
  const client = new PixelsClient(server.url, '');
  const png = await pngOf(patternRaster(8, 8));
  const { id } = await client.submit(EditSettings.parse({}), { source: png, exemplars: [png] });
  return { client, id, fake: server };
}

describe('followJob', () => {
  it('resumes a dropped stream after the last event it saw', async () => {
    // Steps slow enough that the job is still running when the client looks after the drop (a job
    // already done is answered from its state, without the stream); the resume is what is tested.
    const { client, id, fake } = await submitOne({ steps: 5, stepDelayMs: 100, dropStreamAfter: 3 });
    const events: JobEvent[] = [];
    const terminal = await followJob(client, id, (event) => events.push(event), {
      signal: new AbortController().signal,
      expectedSize: { width: 8, height: 8 },
      retryDelayMs: 10,
    });
    expect(terminal).toMatchObject({ type: 'done', width: 8, height: 8 });
    expect(events.map((event) => event.type)).toEqual([
      'queued',
      'started',
      'step',
      'step',
      'step',
      'step',
      'step',
      'done',
    ]);
    const resumed = fake.requests.filter((request) => request.path.endsWith('/events'));
    expect(resumed.map((request) => request.headers['last-event-id'])).toEqual([undefined, '3']);
  });

  it('ends with the failure the server reports', async () => {
    const { client, id } = await submitOne({
      steps: 1,
      stepDelayMs: 1,
      failJobsWith: { code: 'model_error', message: 'The UNet ran out of memory.' },
    });
    const terminal = await followJob(client, id, () => undefined, {
      signal: new AbortController().signal,
      expectedSize: { width: 8, height: 8 },
    });
    expect(terminal).toEqual({
      type: 'failed',
      error: { code: 'model_error', message: 'The UNet ran out of memory.' },
      reason: 'server_fault',
    });
  });

  it('stops when aborted', async () => {
    const { client, id } = await submitOne({ holdJobs: true });
    const controller = new AbortController();
    const following = followJob(client, id, () => controller.abort(), {
      signal: controller.signal,
      expectedSize: { width: 8, height: 8 },
    });
    await expect(following).rejects.toMatchObject({ code: 'aborted' });
  });
});
