import { describe, expect, it } from 'vitest';
import { editForm } from './app-harness.ts';
import { startLiveServer } from './live-server.ts';
import { discPng, gradientPng } from './png-bytes.ts';
import { readEventStream } from './sse-client.ts';

const edit = (settings: Record<string, unknown>) =>
  editForm({ settings, source: gradientPng(), exemplars: [discPng()] });

describe('graceful shutdown of the live server', () => {
  it('lets the running job finish, cancels the queued one, then stops listening', async () => {
    const live = await startLiveServer({ shutdownMs: 60_000 });
    const running = await live.submit('ana', edit({ steps: 4, strength: 0.5 }));
    const queued = await live.submit('ben', edit({ steps: 4, strength: 0.5 }));
    const runningEvents = readEventStream(await live.fetchAs('ana', running.eventsUrl));
    const queuedEvents = readEventStream(await live.fetchAs('ben', queued.eventsUrl));
    await live.stop();
    expect((await runningEvents).at(-1)?.event.type).toBe('done');
    expect((await queuedEvents).map((entry) => entry.event.type)).toEqual(['queued', 'canceled']);
    await expect(fetch(`${live.url}/healthz`)).rejects.toThrow();
    expect(live.logLines.map((line) => line.msg)).toEqual(expect.arrayContaining(['shutting down', 'stopped']));
  });

  it('cancels a running job that outlasts the deadline, and still stops', async () => {
    const live = await startLiveServer({ shutdownMs: 300 });
    const long = await live.submit('ana', edit({ steps: 150, strength: 1 }));
    const events = readEventStream(await live.fetchAs('ana', long.eventsUrl));
    // Wait until it is really running on the worker.
    await readEventStream(await live.fetchAs('ana', long.eventsUrl), (entry) => entry.event.type === 'step');
    const started = Date.now();
    await live.stop();
    expect(Date.now() - started).toBeLessThan(10_000);
    expect((await events).at(-1)?.event.type).toBe('canceled');
    expect(live.logLines.some((line) => line.msg === 'shutdown deadline reached: canceling running jobs')).toBe(true);
  });
});
