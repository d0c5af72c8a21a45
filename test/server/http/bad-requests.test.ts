import { ErrorBody } from '@pixels/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { editForm } from './app-harness.ts';
import { CORPUS, LIMITS } from './bad-request-corpus.ts';
import { type LiveServer, startLiveServer } from './live-server.ts';
import { damagedPixelsPng, discPng, gradientPng } from './png-bytes.ts';
import { readEventStream } from './sse-client.ts';

/** What must never reach a client: absolute server paths, stack frames, library internals. */
const INTERNALS = [
  /(^|[\s'"(=:])\/(home|work|tmp|usr|var|opt|root|srv|mnt|etc|proc|Users|private)\//,
  /(^|[\s'"(])[A-Za-z]:\\/,
  /\bat .+:\d+:\d+/,
  /node_modules/,
  /vips|libpng|libspng|onnxruntime|ORT_|dicer|busboy/i,
];

function expectNoInternals(message: string, context: string): void {
  for (const pattern of INTERNALS) expect(message, `${context}: ${message}`).not.toMatch(pattern);
}

const SOURCE = gradientPng(64, 64);
const EXEMPLAR = discPng(64, 64);

let live: LiveServer;
beforeAll(async () => {
  live = await startLiveServer({ limits: LIMITS });
});
afterAll(async () => {
  await live?.stop();
});

describe('a corpus of bad requests against the live server', () => {
  it('has at least 40 cases', () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(40);
    expect(new Set(CORPUS.map((bad) => bad.name)).size).toBe(CORPUS.length);
  });

  it('answers each with its 4xx and code while a good job runs on, unharmed, and /healthz stays green', async () => {
    const good = await live.submit(
      'ana',
      editForm({ settings: { steps: 8, strength: 0.5, seed: 3 }, source: SOURCE, exemplars: [EXEMPLAR] }),
    );
    const goodEvents = readEventStream(await live.fetchAs('ana', good.eventsUrl));
    const answers: string[] = [];
    for (const bad of CORPUS) {
      const { path = '/v1/edits', init, token } = await bad.request();
      const response = token === null ? await live.fetch(path, init) : await live.fetchAs('ben', path, init);
      const body = await response.text();
      let error: ErrorBody['error'] | undefined;
      try {
        error = ErrorBody.parse(JSON.parse(body)).error;
      } catch {
        // reported below
      }
      const got = `${bad.name}: ${response.status} ${error?.code}${bad.field ? ` ${error?.field}` : ''}`;
      answers.push(got);
      expect(got, body).toBe(`${bad.name}: ${bad.status} ${bad.code}${bad.field ? ` ${bad.field}` : ''}`);
      // A message a person can act on, not a bare status, and nothing of the server's insides.
      expect(error!.message.length, bad.name).toBeGreaterThan(25);
      expectNoInternals(error!.message, bad.name);
      // A refused upload is not drained: the answer closes the connection.
      if (init.body !== undefined && init.body !== '')
        expect(response.headers.get('connection'), bad.name).toBe('close');
      const health = await live.fetch('/healthz');
      expect(health.status, `healthz after ${bad.name}`).toBe(200);
    }
    const events = await goodEvents;
    expect(events.at(-1)?.event.type).toBe('done');
    // Nothing was queued by the bad requests, and nothing was a server fault.
    const stats = live.server.queue.stats();
    expect(stats.byState).toEqual({ queued: 0, running: 0, done: 1, failed: 0, canceled: 0 });
    expect(stats.queuedInputBytes).toBe(0);
    expect(live.logLines.filter((line) => line.level === 'error')).toEqual([]);
    expect(live.logLines.filter((line) => line.msg === 'request' && Number(line.status) >= 500)).toEqual([]);
  });

  it('fails a job whose pixels cannot be decoded with a message free of internals, the detail in the log', async () => {
    const job = await live.submit(
      'ana',
      editForm({ settings: { steps: 2, strength: 0.5 }, source: damagedPixelsPng(), exemplars: [EXEMPLAR] }),
    );
    const last = (await readEventStream(await live.fetchAs('ana', job.eventsUrl))).at(-1)?.event;
    expect(last).toMatchObject({
      type: 'failed',
      reason: 'bad_input',
      error: { code: 'invalid_image', field: 'source' },
    });
    if (last?.type !== 'failed') throw new Error('not failed');
    expectNoInternals(last.error.message, 'decode failure');
    const logged = live.logLines.find((line) => line.jobId === job.id && line.msg === 'job refused by the engine');
    expect(String(logged?.detail)).toMatch(/\S{10,}/);
  });
});
