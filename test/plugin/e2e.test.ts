/**
 * End to end: the built panel in a null-origin sandboxed iframe in real Chromium, the real
 * main-thread code on the Figma fake, and the real team server on loopback running the built-in
 * model (a `pixels serve` process). Also measures the
 * plugin's own share of a 1024x1024 blend (deliverable 8), part by part, and writes it for `pnpm bench`.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Job, readPngSize } from '@pixels/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPlugin } from '../../plugin/build.ts';
import { containsBox } from '../../plugin/src/common/box.ts';
import { BlendTimings } from '../../plugin/src/messages/blend-timings.ts';
import { DEFAULT_PANEL_SETTINGS } from '../../plugin/src/messages/panel-settings.ts';
import type { PlaceResultMessage } from '../../plugin/src/messages/ui-to-main.ts';
import { decodePng } from '../../plugin/src/png/png-decode.ts';
import { PixelsProcesses, type ServeProcess } from '../helpers/pixels-processes.ts';
import { bearer, TEAM_TOKENS } from '../server/http/app-harness.ts';
import { TEST_MODELS_DIR } from '../server/http/live-server.ts';
import { launchChromium } from './support/chromium.ts';
import { type ExportCall, FakeFigma, type FakeNode, FakeRectangle } from './support/fake-figma.ts';
import { type MessageHop, type OpenPanel, PanelHost } from './support/panel-harness.ts';
import { discRaster } from './support/test-images.ts';

const ANA = TEAM_TOKENS.find((entry) => entry.name === 'ana')!;
/** The lead's `pnpm bench` merges this file. */
const BENCH_OUTPUT = join(process.cwd(), 'test-output', 'bench', 'plugin-blend.json');
/** Warm blends after the first: one in a test run, more when the bench asks (it reports their median). */
const WARM_BLENDS = Math.max(1, Number(process.env.PIXELS_PLUGIN_BENCH_BLENDS ?? 1) || 1);

/**
 * The team server as its own `pixels serve` process, as in real use (the designer's Figma and the
 * team server are separate machines): sharing this process's event loop, its request handling
 * would hold up the harness's messages and the fake's exports, and be charged to the plugin.
 */
const processes = new PixelsProcesses({
  PIXELS_MODELS_DIR: TEST_MODELS_DIR,
  PIXELS_TOKENS: TEAM_TOKENS.map(
    (entry) => `${entry.name}:${entry.token}${entry.role === 'admin' ? ':admin' : ''}`,
  ).join(','),
});
let live: ServeProcess;
let host: PanelHost;
let browser: Awaited<ReturnType<typeof launchChromium>>;
let buildDir: string;

beforeAll(async () => {
  live = await processes.serve(['--host', '127.0.0.1', '--port', '0', '--devices', 'cpu']);
  buildDir = await mkdtemp(join(tmpdir(), 'pixels-plugin-e2e-'));
  host = new PanelHost(await readFile((await buildPlugin(buildDir)).uiPath, 'utf8'));
  await host.start();
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await host?.stop();
  await processes.stopAll();
  if (buildDir) await rm(buildDir, { recursive: true, force: true });
});

/** Figma's devAllowedDomains take "localhost", not IP literals. */
function serverUrl(): string {
  return live.url.replace('127.0.0.1', 'localhost');
}

/** A document whose source frame is `size` px square (the cat photo stretched) with a sticker over it. */
async function openDocument(
  size: number,
  settings: Partial<typeof DEFAULT_PANEL_SETTINGS>,
): Promise<OpenPanel & { figma: FakeFigma; sticker: FakeNode }> {
  const figma = new FakeFigma();
  const photo = await decodePng(
    new Uint8Array(await readFile(new URL('../fixtures/images/chelsea.png', import.meta.url))),
  );
  const source = figma.frame({ name: 'Cat', x: 0, y: 0, width: size, height: size, image: photo });
  const sticker = figma.layer(
    {
      name: 'Sticker',
      x: size * 0.55,
      y: size * 0.2,
      width: size * 0.3,
      height: size * 0.3,
      image: discRaster(256, [236, 72, 153, 255]),
    },
    source,
  );
  figma.currentPage.selection = [source, sticker];
  await figma.clientStorage.setAsync('pixels.connection', { serverUrl: serverUrl(), token: ANA.token });
  await figma.clientStorage.setAsync('pixels.panelSettings', { ...DEFAULT_PANEL_SETTINGS, ...settings });
  const panel = await host.open(browser.context, figma);
  await panel.frame.waitForSelector('#connection-status[data-state="connected"]', { timeout: 30_000 });
  await panel.frame.waitForSelector('#blend:not([disabled])');
  return { ...panel, figma, sticker };
}

/** What the fake's export does, for the benchmark's note (Figma's exportAsync is native). */
const FAKE_FIGMA_EXPORT =
  "the Figma fake renders each layer in JavaScript (nearest-neighbour, whole pixels as 32-bit words; a slice renders every visible layer of the page inside its bounds) and encodes PNG natively with Node's zlib (Up filter, level 1, on the thread pool); messages cross between Node and Chromium as binary frames on loopback HTTP (one POST per message to the main thread, one streamed response to the panel)";

const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);

/**
 * Where one blend's time goes, from the panel's own timings (its clock), the harness's timed
 * messages (epoch clocks on both sides) and the fake's export calls. The export as the panel sees
 * it is the request's hop, the main thread's work (the fake's render and encode among it) and the
 * reply's hop carrying the PNGs; the placement is the result's hop to the main thread, the
 * placement there and the answer's hop back.
 */
function blendBreakdown(timings: BlendTimings, hops: MessageHop[], exports: ExportCall[], jobId: string) {
  const hop = (direction: MessageHop['direction'], type: string, key: (message: never) => boolean) => {
    const found = hops.find(
      (entry) => entry.direction === direction && entry.type === type && key(entry.message as never),
    );
    if (!found) throw new Error(`no ${type} message ${direction} was timed`);
    return found;
  };
  // The blend's export request is the one that carries the edit's spread (the preview's has none).
  const request = hop('to-main', 'export-layers', (message: { edit?: unknown }) => message.edit !== undefined);
  const requestId = (request.message as { requestId: string }).requestId;
  const reply = hop('to-ui', 'layers-exported', (message: { requestId: string }) => message.requestId === requestId);
  const place = hop('to-main', 'place-result', (message: { jobId: string }) => message.jobId === jobId);
  const placed = hop('to-ui', 'placed', (message: { jobId: string }) => message.jobId === jobId);
  // The blend's exports ran while the main thread handled its request (the preview's are at a smaller scale).
  const blendExports = exports.filter((call) => call.scale === 1);
  const mainExportMs = reply.sentAt - request.deliveredAt;
  const renderMs = sum(blendExports.map((call) => call.renderMs ?? 0));
  const encodeMs = sum(blendExports.map((call) => call.encodeMs ?? 0));
  const exportRequestHopMs = request.deliveredAt - request.sentAt;
  const exportReplyHopMs = reply.deliveredAt - reply.sentAt;
  const placeMs = placed.deliveredAt - place.sentAt;
  const panelMs = timings.composeMs + timings.uploadMs + timings.downloadMs + timings.decodeMs;
  const pluginMs = timings.exportMs + panelMs + placeMs;
  return {
    export: {
      totalMs: timings.exportMs,
      requestHopMs: exportRequestHopMs,
      mainThreadMs: mainExportMs,
      fakeRenderMs: renderMs,
      fakeEncodeMs: encodeMs,
      replyHopMs: exportReplyHopMs,
      replyBytes: reply.bytes,
      // The panel's side: posting the request, parsing the reply's message.
      panelMessagingMs: timings.exportMs - exportRequestHopMs - mainExportMs - exportReplyHopMs,
    },
    compose: { totalMs: timings.composeMs, ...timings.composeParts },
    uploadMs: timings.uploadMs,
    serverMs: timings.serverMs,
    downloadMs: timings.downloadMs,
    resultCheckMs: timings.decodeMs,
    placement: {
      totalMs: placeMs,
      resultHopMs: place.deliveredAt - place.sentAt,
      resultBytes: place.bytes,
      mainThreadMs: placed.sentAt - place.deliveredAt,
      answerHopMs: placed.deliveredAt - placed.sentAt,
    },
    panelMs,
    pluginMs,
    wholeMs: timings.totalMs + placeMs,
  };
}

describe('the plugin against the real server with the built-in model', () => {
  it('connects with a team token and lists the built-in model', async () => {
    const { page, frame } = await openDocument(256, {});
    expect(await frame.evaluate(() => window.origin)).toBe('null');
    expect(
      await frame.$$eval('#model option', (options) => options.map((option) => (option as HTMLOptionElement).value)),
    ).toContain('builtin');
    await page.close();
  });

  it('blends a 1024x1024 frame: queue, steps with previews, the result bytes placed over the source', async () => {
    const edit = { ...DEFAULT_PANEL_SETTINGS.edit, steps: 20, strength: 0.6, previews: true, seed: 7 };
    const { page, frame, figma, fromUi, hops, sticker } = await openDocument(1024, {
      edit,
      seedMode: 'fixed',
      workingSize: 1024,
    });
    const exportsBefore = figma.exports.length;
    await frame.click('#blend');
    await frame.waitForFunction(
      () => /^Step [1-9]\d* of 12$/.test(document.getElementById('status-line')?.textContent ?? ''),
      undefined,
      {
        timeout: 120_000,
      },
    );
    await frame.waitForSelector('.job-preview', { timeout: 120_000 });
    // Blend was clicked as soon as it was enabled: the map preview is drawn all the same.
    await frame.waitForSelector('#map-preview[data-state="drawn"]', { timeout: 60_000 });
    await frame.evaluate(() => document.getElementById('history-section')!.scrollIntoView());
    const outputDir = join(process.cwd(), 'test-output', 'plugin');
    await mkdir(outputDir, { recursive: true });
    const screenshot = await page.screenshot({ path: join(outputDir, 'e2e-panel.png') });
    if (process.env.PIXELS_UPDATE_SCREENSHOTS === '1')
      await writeFile(new URL('../../plugin/docs/panel.png', import.meta.url), screenshot);
    await frame.waitForSelector('.history-entry', { timeout: 240_000 });

    const placedMessage = fromUi.find(
      (message) => (message as { type: string }).type === 'place-result',
    ) as PlaceResultMessage;
    // Only the region around the sticker is sent, at 1x; the result lies 1:1 over that region.
    const sent = readPngSize(placedMessage.png);
    expect(placedMessage.box).toMatchObject(sent);
    const result = figma.allNodes().find((node) => node instanceof FakeRectangle) as FakeRectangle;
    expect(result.absoluteBoundingBox).toEqual(placedMessage.box);
    expect(containsBox(result.absoluteBoundingBox, sticker.absoluteBoundingBox)).toBe(true);
    const imageHash = (result.fills as unknown as Array<{ imageHash: string }>)[0].imageHash;
    expect(figma.images.get(imageHash)).toEqual(placedMessage.png);
    expect(result.name).toContain(`seed ${placedMessage.seed}`);

    const timings = BlendTimings.parse(placedMessage.timings);
    // The page tells the harness when it posted each message into the panel; wait for the answer's.
    const placedAnswerDelivered = (jobId: string) =>
      expect
        .poll(() =>
          hops.some(
            (hop) =>
              hop.type === 'placed' &&
              (hop.message as { jobId: string }).jobId === jobId &&
              Number.isFinite(hop.deliveredAt),
          ),
        )
        .toBe(true);
    await placedAnswerDelivered(placedMessage.jobId);
    const first = blendBreakdown(timings, hops, figma.exports.slice(exportsBefore), placedMessage.jobId);

    // The designer's next blends on the same selection: the server and the browser are warm now
    // (the first blend after a server start also pays its first-use costs, and the browser's
    // CORS preflight, cached for 10 minutes). Both kinds are reported; the target is held against
    // the warm ones, blends as designers make them all day. The bench asks for several
    // (PIXELS_PLUGIN_BENCH_BLENDS) and takes the median by share: one blend on these shared cores
    // swings with whatever else runs.
    const warmBlends: { message: PlaceResultMessage; breakdown: ReturnType<typeof blendBreakdown> }[] = [];
    for (let blend = 0; blend < WARM_BLENDS; blend++) {
      const hopsBefore = hops.length;
      const exportsBeforeBlend = figma.exports.length;
      const placedBefore = fromUi.filter((message) => (message as { type: string }).type === 'place-result').length;
      await frame.waitForSelector('#blend:not([disabled])');
      await frame.click('#blend');
      await expect
        .poll(() => fromUi.filter((message) => (message as { type: string }).type === 'place-result').length, {
          timeout: 240_000,
        })
        .toBe(placedBefore + 1);
      const message = fromUi.filter((each) => (each as { type: string }).type === 'place-result')[
        placedBefore
      ] as PlaceResultMessage;
      await placedAnswerDelivered(message.jobId);
      const timed = BlendTimings.parse(message.timings);
      expect(timed.serverMs).toBeGreaterThan(0);
      warmBlends.push({
        message,
        breakdown: blendBreakdown(
          timed,
          hops.slice(hopsBefore),
          figma.exports.slice(exportsBeforeBlend),
          message.jobId,
        ),
      });
    }
    const shareOf = (each: { breakdown: { pluginMs: number; wholeMs: number } }) =>
      each.breakdown.pluginMs / each.breakdown.wholeMs;
    const byShare = [...warmBlends].sort((a, b) => shareOf(a) - shareOf(b));
    const { message: medianMessage, breakdown } = byShare[Math.floor(byShare.length / 2)];
    const medianTimings = BlendTimings.parse(medianMessage.timings);
    await mkdir(join(process.cwd(), 'test-output', 'bench'), { recursive: true });
    await writeFile(
      BENCH_OUTPUT,
      `${JSON.stringify(
        {
          name: 'plugin share of a blend on a 1024x1024 frame (the median by share of the warm blends after the first; the first after the server started in `first`)',
          what: "plugin-side time of one blend over the whole click-to-placed time: the export (on the Figma fake, with the messages that carry it), the panel's compositing and PNG encoding, upload, download, result checks, and the placement (the result's message to the main thread, createImage and the rectangle on the fake, the answer back). panelMs is the panel's own work alone (compositing, upload, download, result checks)",
          fake: FAKE_FIGMA_EXPORT,
          size: { width: 1024, height: 1024 },
          // The region around the edit that was exported (through a slice), sent and placed.
          sent,
          model: 'builtin',
          steps: 12,
          timings: medianTimings,
          breakdown,
          first: {
            timings,
            breakdown: first,
            share: first.pluginMs / first.wholeMs,
            panelShare: first.panelMs / first.wholeMs,
          },
          warm: warmBlends.map((each) => ({
            share: shareOf(each),
            pluginMs: each.breakdown.pluginMs,
            wholeMs: each.breakdown.wholeMs,
          })),
          wholeMs: breakdown.wholeMs,
          pluginMs: breakdown.pluginMs,
          share: breakdown.pluginMs / breakdown.wholeMs,
          panelMs: breakdown.panelMs,
          panelShare: breakdown.panelMs / breakdown.wholeMs,
          target: 0.1,
          meetsTarget: breakdown.pluginMs / breakdown.wholeMs <= 0.1,
          measuredAt: new Date().toISOString(),
        },
        null,
        2,
      )}\n`,
    );
    // Every blend exported the source's region alone, through a slice, never the whole source.
    const blendExports = figma.exports.slice(exportsBefore).filter((call) => call.scale === 1);
    expect(blendExports.some((call) => call.nodeId === medianMessage.sourceId)).toBe(false);
    expect(blendExports.filter((call) => call.nodeId !== sticker.id)).toHaveLength(1 + WARM_BLENDS);
    for (const each of [first, ...warmBlends.map((blend) => blend.breakdown)]) {
      expect(each.pluginMs).toBeLessThan(each.wholeMs);
    }
    expect(timings.serverMs).toBeGreaterThan(0);
    await page.close();
  }, 300_000);

  it('cancels a running job on the server', async () => {
    const edit = { ...DEFAULT_PANEL_SETTINGS.edit, steps: 150, strength: 1 };
    // A linear edge makes the panel build the map and upload it, so the real server checks that part too.
    const { page, frame, fromUi } = await openDocument(512, { edit, falloff: 'linear' });
    await frame.click('#blend');
    await frame.waitForFunction(
      () => /^Step [1-9]\d* of 150$/.test(document.getElementById('status-line')?.textContent ?? ''),
      undefined,
      {
        timeout: 120_000,
      },
    );
    const jobId = await frame.getAttribute('.job', 'data-job-id');
    expect(fromUi.some((message) => (message as { type: string }).type === 'job-submitted')).toBe(true);
    await frame.click('#cancel');
    await frame.waitForFunction(() => document.getElementById('status-line')?.textContent === 'Canceled.');
    expect(await frame.isHidden('#run-progress')).toBe(true);
    await expect
      .poll(
        async () =>
          Job.parse(await (await fetch(`${live.url}/v1/jobs/${jobId}`, { headers: bearer('ana') })).json()).state,
        {
          timeout: 30_000,
        },
      )
      .toBe('canceled');
    await page.close();
  }, 180_000);
});
