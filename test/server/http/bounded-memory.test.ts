import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, readlink, stat } from 'node:fs/promises';
import { get } from 'node:http';
import { dirname } from 'node:path';
import { ErrorBody } from '@pixels/shared';
import sharp from 'sharp';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { ScriptedEditRunner } from '../jobs/scripted-edit-runner.ts';
import { editForm } from './app-harness.ts';
import { startLiveServer } from './live-server.ts';
import { discPng, gradientPng, noisePng } from './png-bytes.ts';
import { readEventStream } from './sse-client.ts';

const MIB = 1024 * 1024;
const edit = (source = gradientPng()) =>
  editForm({ settings: { steps: 1, strength: 0.5 }, source, exemplars: [discPng()] });

/** A 2048x2048 PNG of noise (uncompressed deflate blocks): about 12 MiB that no download may copy. */
let largePng: Uint8Array;
beforeAll(async () => {
  const pixels = randomBytes(2048 * 2048 * 3);
  largePng = new Uint8Array(
    await sharp(pixels, { raw: { width: 2048, height: 2048, channels: 3 } })
      .png({ compressionLevel: 0 })
      .toBuffer(),
  );
});

/**
 * `count` concurrent GETs of `url` from a child node process, so this process's RSS is the
 * server's alone. Each client reads its first chunk and then stops reading until `whilePaused`
 * has run (all downloads are in flight and held open: what the server keeps per download shows),
 * then reads to the end. Resolves with the bytes each received.
 */
function downloadInChildProcess(
  url: string,
  token: string,
  count: number,
  whilePaused: () => Promise<void>,
): Promise<number[]> {
  const script = `
    const http = require('node:http');
    let paused = 0;
    const responses = [];
    const get = () => new Promise((resolve, reject) => {
      http.get(process.argv[1], { headers: { Authorization: 'Bearer ' + process.argv[2] } }, (res) => {
        let bytes = 0;
        res.once('data', () => {
          res.pause();
          responses.push(res);
          if (++paused === Number(process.argv[3])) process.stdout.write('paused\\n');
        });
        res.on('data', (chunk) => { bytes += chunk.length; });
        res.on('end', () => resolve(bytes));
        res.on('error', reject);
      }).on('error', reject);
    });
    process.stdin.once('data', () => { for (const res of responses) res.resume(); });
    Promise.all(Array.from({ length: Number(process.argv[3]) }, get)).then((sizes) => {
      process.stdout.write(JSON.stringify(sizes) + '\\n');
      process.exit(0);
    });
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script, url, token, String(count)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const timer = setTimeout(() => child.kill(), 60_000);
    let output = '';
    child.stdout.setEncoding('utf8').on('data', async (text: string) => {
      output += text;
      if (text.includes('paused')) {
        await whilePaused();
        child.stdin.write('go\n');
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      const last = output.trim().split('\n').at(-1) ?? '';
      if (code === 0) resolve(JSON.parse(last));
      else reject(new Error(`the download process exited with ${code}: ${output}`));
    });
  });
}

/** How many of this process's file descriptors are open on `file` (Linux: /proc/self/fd). */
async function openDescriptorsOf(file: string): Promise<number> {
  const targets = await Promise.all(
    (await readdir('/proc/self/fd')).map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')),
  );
  return targets.filter((target) => target === file).length;
}

describe('memory bounded in bytes on the live server', () => {
  it('stores a result once on disk and streams it to 8 concurrent downloads within a stated RSS bound', async () => {
    const live = await startLiveServer({ runners: () => [new ScriptedEditRunner({ result: largePng })] });
    try {
      const job = await live.submit('ana', edit());
      expect((await readEventStream(await live.fetchAs('ana', job.eventsUrl))).at(-1)?.event.type).toBe('done');
      const record = live.server.queue.find(job.id)!;
      const file = record.result!.file;
      expect((await stat(file)).size).toBe(largePng.length);
      expect(await readdir(dirname(file))).toEqual([`${job.id}.png`]);

      const url = `${live.url}${job.jobUrl}/result`;
      // A first round warms what is paid once (the file-system threads' allocator arenas, compiled code).
      await downloadInChildProcess(url, live.tokenOf('ana'), 8, async () => {});
      const baseline = process.memoryUsage().rss;
      let peak = baseline;
      let answeredWhileHeld = -1;
      let held = 0;
      const sizes = await downloadInChildProcess(url, live.tokenOf('ana'), 8, async () => {
        // The downloads are open now: every one of both rounds has its 200 answer; watch RSS while they are held.
        answeredWhileHeld = live.logLines.filter(
          (line) => line.msg === 'request' && line.path === `${job.jobUrl}/result` && line.status === 200,
        ).length;
        for (let sample = 0; sample < 100; sample++) {
          peak = Math.max(peak, process.memoryUsage().rss);
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        held = process.memoryUsage().rss;
      });
      expect(answeredWhileHeld).toBe(16);
      expect(sizes).toEqual(Array(8).fill(largePng.length));
      // A copy per download would hold 8 x 12 MiB for as long as the clients are slow. Streaming holds
      // a chunk or two per client (the rest waits on disk): RSS stays within one result of the baseline
      // at the end of the hold, and within two at its peak (a quarter of what eight copies would take).
      const heldGrowth = held - baseline;
      const peakGrowth = peak - baseline;
      console.info(
        `8 downloads of ${(largePng.length / MIB).toFixed(1)} MiB: RSS ${(heldGrowth / MIB).toFixed(1)} MiB over the baseline while held open, peak ${(peakGrowth / MIB).toFixed(1)} MiB`,
      );
      expect(heldGrowth).toBeLessThan(largePng.length);
      expect(peakGrowth).toBeLessThan(2 * largePng.length);
    } finally {
      await live.stop();
    }
  });

  it("writes a result from its file with the app's headers; HEAD and a client gone half-way leave no open file", async () => {
    const live = await startLiveServer({ runners: () => [new ScriptedEditRunner({ result: largePng })] });
    try {
      const job = await live.submit('ana', edit());
      expect((await readEventStream(await live.fetchAs('ana', job.eventsUrl))).at(-1)?.event.type).toBe('done');
      const record = live.server.queue.find(job.id)!;
      const url = `${live.url}${job.jobUrl}/result`;
      // HEAD answers the headers without opening the file (its body would never be read).
      const head = await live.fetchAs('ana', `${job.jobUrl}/result`, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers.get('content-length')).toBe(String(largePng.length));
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await openDescriptorsOf(record.result!.file)).toBe(0);
      // A client that takes its first bytes and goes away.
      await new Promise<void>((resolve, reject) => {
        const request = get(url, { headers: { Authorization: `Bearer ${live.tokenOf('ana')}` } }, (response) => {
          response.once('data', () => {
            request.destroy();
            resolve();
          });
        });
        request.on('error', (error) => (error.message === 'socket hang up' ? undefined : reject(error)));
      });
      await vi.waitFor(async () => expect(await openDescriptorsOf(record.result!.file)).toBe(0), { timeout: 5000 });
      expect(record.downloads).toBe(0);

      // The plugin's download: from the iframe's `null` origin, reading the headers CORS exposes.
      const response = await live.fetchAs('ana', `${job.jobUrl}/result`, { headers: { Origin: 'null' } });
      expect(response.status).toBe(200);
      expect(response.headers.get('access-control-allow-origin')).toBe('*');
      expect(response.headers.get('access-control-expose-headers')).toContain('Server-Timing');
      expect(response.headers.get('server-timing')).toMatch(/^engine;dur=[\d.]+$/);
      expect(response.headers.get('content-type')).toBe('image/png');
      expect(response.headers.get('content-length')).toBe(String(largePng.length));
      expect(response.headers.get('content-disposition')).toBe(`attachment; filename="pixels-${job.id}.png"`);
      expect(Buffer.from(await response.arrayBuffer()).equals(largePng)).toBe(true);
      await vi.waitFor(() => expect(record.downloads).toBe(1));
      expect(await openDescriptorsOf(record.result!.file)).toBe(0);
    } finally {
      await live.stop();
    }
  });

  it("refuses a user's edit over their queued image bytes with 429, and over the whole server's, while others get in", async () => {
    const runner = new ScriptedEditRunner({ holdSteps: true });
    const source = noisePng(300, 300);
    const live = await startLiveServer({
      runners: () => [runner],
      limits: { maxQueuedInputBytesPerUser: 2.5 * source.length, maxQueuedInputBytes: 4.5 * source.length },
      shutdownMs: 500,
    });
    try {
      await live.submit('ana', edit(source));
      await live.submit('ana', edit(source));
      const refused = await live.fetchAs('ana', '/v1/edits', { method: 'POST', body: edit(source) });
      expect(refused.status).toBe(429);
      const error = ErrorBody.parse(await refused.json()).error;
      expect(error.code).toBe('queue_full');
      expect(error.message).toMatch(/Your queued and running edits hold [\d.]+ MiB of images/);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      await live.submit('ben', edit(source));
      await live.submit('ben', edit(source));
      const full = await live.fetchAs('cyd', '/v1/edits', { method: 'POST', body: edit(source) });
      expect(full.status).toBe(429);
      expect(ErrorBody.parse(await full.json()).error.message).toMatch(/The server's queue holds [\d.]+ MiB of images/);
      expect(live.server.queue.stats().queuedInputBytes).toBeLessThanOrEqual(4.5 * source.length);
    } finally {
      for (let step = 0; step < 10; step++) runner.release();
      await live.stop();
    }
  });

  it('refuses new edits while a user holds their share of kept results, until they delete one', async () => {
    const live = await startLiveServer({
      runners: () => [new ScriptedEditRunner({ result: largePng })],
      limits: { maxResultBytesPerUser: largePng.length },
      shutdownMs: 500,
    });
    try {
      const done = await live.submit('ana', edit());
      await readEventStream(await live.fetchAs('ana', done.eventsUrl));
      const refused = await live.fetchAs('ana', '/v1/edits', { method: 'POST', body: edit() });
      expect(refused.status).toBe(429);
      expect(ErrorBody.parse(await refused.json()).error.message).toContain('of your finished results');
      // Another user is not held back by ana's results.
      await live.submit('ben', edit());
      expect((await live.fetchAs('ana', done.jobUrl, { method: 'DELETE' })).status).toBe(200);
      await vi.waitFor(() => expect(live.server.queue.find(done.id)).toBeUndefined());
      await live.submit('ana', edit());
    } finally {
      await live.stop();
    }
  });
});
