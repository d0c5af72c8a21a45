import { ErrorBody, ServerStatus } from '@pixels/shared';
import { describe, expect, it } from 'vitest';
import { editForm, longEditForm } from './app-harness.ts';
import { startLiveServer } from './live-server.ts';
import { discPng, gradientPng } from './png-bytes.ts';
import { readEventStream } from './sse-client.ts';

const edit = (settings: Record<string, unknown>) =>
  editForm({ settings, source: gradientPng(), exemplars: [discPng()] });

describe('graceful shutdown of the live server', () => {
  it('keeps GETs working through the drain, refuses submissions, and keeps the finished result fetchable', async () => {
    const live = await startLiveServer({ shutdownMs: 60_000 });
    const running = await live.submit('ana', edit({ steps: 6, strength: 0.5 }));
    const queued = await live.submit('ben', edit({ steps: 4, strength: 0.5 }));
    const runningEvents = readEventStream(await live.fetchAs('ana', running.eventsUrl));
    const queuedEvents = readEventStream(await live.fetchAs('ben', queued.eventsUrl));
    let stopped = false;
    const stopping = live.stop().then(() => {
      stopped = true;
    });

    // Draining: health says so, readiness and submissions get 503, status and events go on.
    const health = await live.fetch('/healthz');
    expect(health.status).toBe(200);
    expect(ServerStatus.parse(await health.json()).status).toBe('draining');
    expect((await live.fetch('/readyz')).status).toBe(503);
    const late = await live.fetchAs('cyd', '/v1/edits', { method: 'POST', body: edit({ steps: 2 }) });
    expect(late.status).toBe(503);
    expect(ErrorBody.parse(await late.json()).error.code).toBe('not_ready');
    expect((await live.fetchAs('ana', running.jobUrl)).status).toBe(200);

    expect((await runningEvents).at(-1)?.event.type).toBe('done');
    expect((await queuedEvents).map((entry) => entry.event)).toEqual([
      { type: 'queued', position: 1 },
      { type: 'canceled', reason: 'shutdown' },
    ]);
    // The result finished during the drain is still there, and the server waits for its download.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(stopped).toBe(false);
    const result = await live.fetchAs('ana', `${running.jobUrl}/result`);
    expect(result.status).toBe(200);
    const png = new Uint8Array(await result.arrayBuffer());
    expect([...png.subarray(1, 4)]).toEqual([0x50, 0x4e, 0x47]);
    await stopping;
    await expect(fetch(`${live.url}/healthz`)).rejects.toThrow();
    expect(live.logLines.map((line) => line.msg)).toEqual(expect.arrayContaining(['shutting down', 'stopped']));
  });

  it('cancels a running job that outlasts the deadline, with the reason shutdown, and still stops', async () => {
    const live = await startLiveServer({ shutdownMs: 300 });
    // Its 150 steps outlast the deadline.
    const long = await live.submit('ana', longEditForm());
    const events = readEventStream(await live.fetchAs('ana', long.eventsUrl));
    // Wait until it is really running on the worker.
    await readEventStream(await live.fetchAs('ana', long.eventsUrl), (entry) => entry.event.type === 'step');
    const started = Date.now();
    await live.stop();
    expect(Date.now() - started).toBeLessThan(10_000);
    expect((await events).at(-1)?.event).toEqual({ type: 'canceled', reason: 'shutdown' });
    expect(live.logLines.some((line) => line.msg === 'shutdown deadline reached: canceling running jobs')).toBe(true);
  });
});
