/**
 * The built panel (plugin/dist/ui.html) in a sandboxed iframe in real Chromium, driven by the real
 * main-thread code on the Figma fake, against the in-test PIXELS server (support/fake-pixels-server).
 * The same flows against the real server with the built-in model are in e2e.test.ts; the look
 * (contrast, focus, size, screenshots) is checked in panel-look.test.ts.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EditSettings, readPngSize } from '@pixels/shared';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildPlugin } from '../../plugin/build.ts';
import { containsBox } from '../../plugin/src/common/box.ts';
import { decodePng } from '../../plugin/src/png/png-decode.ts';
import { launchChromium } from './support/chromium.ts';
import { FakePixelsServer, type FakeServerOptions } from './support/fake-pixels-server.ts';
import { type MessageHop, type OpenPanel, PanelHost } from './support/panel-harness.ts';
import { type PhotoScene, photoDocument, placedResults, previewPixel, TOKEN } from './support/panel-scenes.ts';

let browser: Awaited<ReturnType<typeof launchChromium>>;
let host: PanelHost;
let buildDir: string;
let server: FakePixelsServer | undefined;
let panel: OpenPanel | undefined;

beforeAll(async () => {
  buildDir = await mkdtemp(join(tmpdir(), 'pixels-plugin-build-'));
  const built = await buildPlugin(buildDir);
  host = new PanelHost(await readFile(built.uiPath, 'utf8'));
  await host.start();
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await host?.stop();
  await rm(buildDir, { recursive: true, force: true });
});

afterEach(async () => {
  await panel?.page.close();
  panel = undefined;
  await server?.stop();
  server = undefined;
});

async function openWith(scene: PhotoScene, options: FakeServerOptions = {}, token = TOKEN): Promise<OpenPanel> {
  server = new FakePixelsServer({ token: TOKEN, steps: 4, stepDelayMs: 60, ...options });
  await server.start();
  await scene.figma.clientStorage.setAsync('pixels.connection', { serverUrl: server.url, token });
  panel = await host.open(browser.context, scene.figma);
  return panel;
}

async function reopen(scene: PhotoScene): Promise<OpenPanel> {
  await panel?.page.close();
  panel = await host.open(browser.context, scene.figma);
  return panel;
}

describe('the panel in Chromium: connection and errors', () => {
  it("runs in a null-origin sandbox, connects with the token, lists the server's models and takes its limits", async () => {
    const { frame } = await openWith(await photoDocument(), { maxSteps: 40 });
    expect(await frame.evaluate(() => window.origin)).toBe('null');
    await frame.waitForSelector('#connection-status[data-state="connected"]');
    expect(await frame.textContent('#connection-status')).toBe('Connected · 1 model');
    expect(await frame.$$eval('#model option', (options) => options.map((option) => option.textContent))).toEqual([
      'builtin',
    ]);
    // The built-in model ignores prompts: the prompt is collapsed and says so.
    expect(await frame.$eval('#prompt-section', (details) => (details as HTMLDetailsElement).open)).toBe(false);
    expect(await frame.textContent('#prompt-summary')).toBe('ignored by builtin');
    // Inputs are bounded by what the server's status endpoint says it accepts.
    expect(await frame.getAttribute('#steps', 'max')).toBe('40');
    const listing = server!.requests.find((request) => request.method === 'GET' && request.path === '/v1/models');
    expect(listing?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(server!.requests.some((request) => request.path === '/healthz')).toBe(true);
    expect(server!.requests.some((request) => request.method === 'OPTIONS')).toBe(true);
  });

  it('a wrong token: one message, said once, with a button that opens the server settings', async () => {
    const { frame } = await openWith(await photoDocument(), {}, 'stale-token');
    await frame.waitForSelector('#connection-status[data-state="failed"]');
    expect(await frame.textContent('#problem-message')).toBe('The server did not accept the access token.');
    expect(await frame.textContent('#problem-action')).toBe('Open server settings');
    // biome-ignore lint/performance/useDomNodeTextContent: the visible text, without the inlined script's
    const body = await frame.innerText('body');
    expect(body.split('access token').length - 1).toBe(1);
    expect(await frame.isDisabled('#blend')).toBe(true);
    expect(await frame.textContent('#status-line')).toBe('Connect first: check the server under Server.');
    expect(await frame.getAttribute('#server-token', 'aria-invalid')).toBe('true');

    await frame.$eval('#server-section', (details) => {
      (details as HTMLDetailsElement).open = false;
    });
    await frame.click('#problem-action');
    expect(await frame.$eval('#server-section', (details) => (details as HTMLDetailsElement).open)).toBe(true);
    expect(await frame.evaluate(() => document.activeElement?.id)).toBe('server-token');
    await frame.fill('#server-token', TOKEN);
    await frame.click('#connect');
    await frame.waitForSelector('#connection-status[data-state="connected"]');
    expect(await frame.isHidden('#problem')).toBe(true);
    expect(await frame.isDisabled('#blend')).toBe(false);
  });

  it('an unreachable server: a short message and Retry, which connects once the server is up', async () => {
    const probe = new FakePixelsServer();
    await probe.start();
    const port = probe.port;
    const url = probe.url;
    await probe.stop();
    const scene = await photoDocument();
    await scene.figma.clientStorage.setAsync('pixels.connection', { serverUrl: url, token: TOKEN });
    panel = await host.open(browser.context, scene.figma);
    const { frame } = panel;
    await frame.waitForSelector('#connection-status[data-state="failed"]');
    expect(await frame.textContent('#problem-message')).toBe(`Can't reach ${url}.`);
    expect(await frame.textContent('#problem-action')).toBe('Retry');
    expect(await frame.$$eval('.problem', (boxes) => boxes.length)).toBe(1);
    expect(await frame.isDisabled('#blend')).toBe(true);

    server = new FakePixelsServer({ token: TOKEN, port });
    await server.start();
    await frame.click('#problem-action');
    await frame.waitForSelector('#connection-status[data-state="connected"]');
    expect(await frame.isHidden('#problem')).toBe(true);
  });

  it('a server refusing the steps: the field by its label, and a "Use 8 steps" button that fixes it', async () => {
    const scene = await photoDocument();
    await scene.figma.clientStorage.setAsync('pixels.panelSettings', {
      edit: EditSettings.parse({ steps: 20 }),
    });
    // An older server: no limits in its status, so the panel only learns from the refusal.
    const { frame } = await openWith(scene, { maxSteps: 8, reportLimits: false });
    await frame.waitForSelector('#blend:not([disabled])');
    await frame.click('#blend');
    await frame.waitForSelector('#problem:not([hidden])');
    expect(await frame.textContent('#problem-message')).toBe(
      'Steps is 20; this server runs at most 8 steps. Lower it.',
    );
    expect(await frame.textContent('#problem')).not.toContain('settings.');
    expect(await frame.textContent('.field[data-invalid="true"] .label')).toBe('Steps');
    expect(await frame.textContent('#problem-action')).toBe('Use 8 steps');
    await frame.click('#problem-action');
    expect(await frame.inputValue('#steps')).toBe('8');
    expect(await frame.$$eval('[data-invalid="true"]', (fields) => fields.length)).toBe(0);
    await frame.click('#blend');
    await frame.waitForSelector('.history-entry');
    expect(server!.submissions.at(-1)!.settings.steps).toBe(8);
  });

  it('a server with limits in its status: the panel refuses too many steps before sending', async () => {
    const scene = await photoDocument();
    await scene.figma.clientStorage.setAsync('pixels.panelSettings', { edit: EditSettings.parse({ steps: 20 }) });
    const { frame } = await openWith(scene, { maxSteps: 8 });
    await frame.waitForSelector('#blend:not([disabled])');
    await frame.click('#blend');
    await frame.waitForSelector('#problem:not([hidden])');
    expect(await frame.textContent('#problem-message')).toBe('Steps is 20; this server runs at most 8.');
    expect(await frame.textContent('#problem-action')).toBe('Use 8 steps');
    expect(server!.submissions).toHaveLength(0);
  });

  it("a server taking fewer pixels than the working size: the cap follows the server's limit", async () => {
    const scene = await photoDocument();
    const { frame } = await openWith(scene, { maxPixels: 200 * 200 });
    await frame.waitForSelector('#blend:not([disabled])');
    await frame.click('#blend');
    await frame.waitForSelector('.history-entry', { timeout: 20_000 });
    const sent = readPngSize(server!.submissions[0].source);
    expect(Math.max(sent.width, sent.height)).toBeLessThanOrEqual(200);
  });

  it('a failed job: the server message once, and Retry blends again', async () => {
    const { frame } = await openWith(await photoDocument(), {
      steps: 1,
      failJobsWith: { code: 'model_error', message: 'The model ran out of memory.' },
    });
    await frame.waitForSelector('#blend:not([disabled])');
    await frame.click('#blend');
    await frame.waitForSelector('#problem:not([hidden])');
    expect(await frame.textContent('#problem-message')).toBe('The model ran out of memory.');
    expect(await frame.textContent('#problem-action')).toBe('Retry');
    expect(await frame.isHidden('#run-progress')).toBe(true);
    await frame.click('#problem-action');
    await expect.poll(() => server!.submissions.length).toBe(2);
  });
});

describe('the panel in Chromium: selection, preview and blending', () => {
  it('shows a short guide and disables the controls until the selection can be blended', async () => {
    const scene = await photoDocument();
    scene.figma.currentPage.selection = [];
    const { frame } = await openWith(scene);
    await frame.waitForSelector('#guide:not([hidden])');
    expect(await frame.$$eval('.issue', (issues) => issues.length)).toBe(0);
    expect(await frame.$eval('#edit-controls', (fieldset) => (fieldset as HTMLFieldSetElement).disabled)).toBe(true);
    expect(await frame.isDisabled('#strength')).toBe(true);
    expect(await frame.isDisabled('#prompt')).toBe(true);
    expect(await frame.isDisabled('#blend')).toBe(true);
    expect(await frame.textContent('#status-line')).toBe('Select a source and its exemplars to blend.');

    scene.figma.currentPage.selection = [scene.source, scene.sticker];
    await frame.waitForSelector('#blend:not([disabled])');
    expect(await frame.isHidden('#guide')).toBe(true);
    expect(await frame.isDisabled('#strength')).toBe(false);
    await frame.waitForSelector('#map-preview[data-state="drawn"]');
    expect(
      await frame.$eval('#map-preview', (canvas) => [
        (canvas as HTMLCanvasElement).width,
        (canvas as HTMLCanvasElement).height,
      ]),
    ).toEqual([320, 213]);

    await frame.selectOption('.layer[data-role="exemplar"] select', 'ignore');
    await frame.waitForSelector('.issue[data-code="no-exemplar"]');
    expect(scene.sticker.getPluginData('pixels.role')).toBe('ignore');
    expect(await frame.isDisabled('#strength')).toBe(true);
    expect(await frame.getAttribute('#map-preview', 'data-state')).toBe('empty');
  });

  it('the preview is drawn after a fast Blend, follows the selection during a run, and is redrawn after it', async () => {
    const scene = await photoDocument();
    const { frame } = await openWith(scene, { steps: 20, stepDelayMs: 100 });
    await frame.waitForSelector('#connection-status[data-state="connected"]');
    // Blend at once, well inside the preview's 250 ms delay.
    scene.figma.currentPage.selection = [scene.source, scene.sticker];
    await frame.click('#blend');
    await frame.waitForSelector('#map-preview[data-state="drawn"]');
    const key = await frame.getAttribute('#map-preview', 'data-selection');
    expect(key).toContain(scene.sticker.id);

    // A new selection while the job runs: the old picture goes at once, the new one is drawn.
    await frame.waitForSelector('.history-batch[data-running="true"]');
    scene.figma.currentPage.selection = [scene.source, scene.badge];
    await frame.waitForFunction(
      (id) => document.getElementById('map-preview')?.dataset.selection?.includes(id) ?? false,
      scene.badge.id,
    );
    expect(await frame.getAttribute('#map-preview', 'data-state')).toBe('drawn');
    expect(await frame.isVisible('.history-batch[data-running="true"]'), 'still running').toBe(true);
    await frame.waitForSelector('.history-entry', { timeout: 20_000 });
    await frame.waitForSelector('#map-preview[data-state="drawn"]');
    expect(await frame.getAttribute('#map-preview', 'data-selection')).toContain(scene.badge.id);
  });

  it('the preview follows a selected layer that moves on the canvas', async () => {
    const scene = await photoDocument();
    const { frame } = await openWith(scene);
    await frame.waitForSelector('#map-preview[data-state="drawn"]');
    // Where the sticker will be moved: the frame's top-left corner, at the preview's 320/451 scale.
    const corner = { x: Math.round((60 * 320) / 451), y: Math.round((60 * 320) / 451) };
    const before = await previewPixel(frame, corner);
    scene.sticker.x = 0;
    scene.sticker.y = 0;
    scene.figma.currentPage.fireNodeChange([{ id: scene.sticker.id, type: 'PROPERTY_CHANGE', properties: ['x', 'y'] }]);
    await expect.poll(async () => (await previewPixel(frame, corner))[2] - before[2]).toBeGreaterThan(40);
  });

  it('a toggle shows the exemplar pasted over the source under the map tint', async () => {
    const scene = await photoDocument();
    const { frame } = await openWith(scene);
    await frame.waitForSelector('#map-preview[data-state="drawn"]');
    // The sticker's centre: (250 + 60 - 40, 90 + 60 - 40) in the frame at 320/451 preview scale.
    const centre = { x: Math.round((270 * 320) / 451), y: Math.round((110 * 320) / 451) };
    const tinted = await previewPixel(frame, centre);
    expect(tinted[2]).toBeGreaterThan(tinted[0]); // blue over the cat
    await frame.check('#preview-exemplar');
    await frame.waitForSelector('#map-preview[data-shows-exemplar="true"]');
    const pasted = await previewPixel(frame, centre);
    expect(pasted[0]).toBeGreaterThan(pasted[2]); // the pink sticker shows through the light tint
    expect(pasted[0]).toBeGreaterThan(180);
    expect(await frame.textContent('#map-preview-hint')).toBe('Exemplar pasted, tinted by the map.');
  });

  it('blends with step previews and places the result over the source, its name without an ignored prompt', async () => {
    const scene = await photoDocument();
    await scene.figma.clientStorage.setAsync('pixels.panelSettings', {
      edit: EditSettings.parse({ prompt: 'weathered brick', previews: true }),
    });
    const { frame } = await openWith(scene);
    await frame.waitForSelector('#blend:not([disabled])');
    await frame.click('#blend');
    await frame.waitForFunction(() =>
      /^Step [1-4] of 4$/.test(document.getElementById('status-line')?.textContent ?? ''),
    );
    await frame.waitForSelector('.job-preview');
    expect(await frame.getAttribute('#run-progress', 'aria-label')).toBe('Blend progress');
    expect(await frame.getAttribute('.job .progress', 'aria-label')).toBe('Progress of Blend');
    await frame.waitForSelector('.history-entry', { timeout: 20_000 });
    expect(await frame.textContent('#status-line')).toBe('Placed the result over the source.');

    const submission = server!.submissions[0];
    // Only the region around the sticker is sent (at 1x); the result covers exactly that region.
    const sent = readPngSize(submission.source);
    expect(sent.width * sent.height).toBeLessThan(451 * 300);
    expect(submission.map).toBeUndefined();
    expect(submission.settings).toMatchObject({ grow: 0, feather: 32, invertMap: false, previews: true });
    const [placed] = placedResults(scene);
    const box = placed.absoluteBoundingBox;
    expect([box.width, box.height]).toEqual([sent.width, sent.height]);
    expect(containsBox(scene.source.absoluteBoundingBox, box)).toBe(true);
    expect(containsBox(box, scene.sticker.absoluteBoundingBox)).toBe(true);
    expect(placed.name).not.toContain('weathered');
    expect(placed.name).toContain(`seed ${server!.jobs.get('job-1')!.seed}`);
  });

  it('a 3000 px frame with a small edit: the region is sent at 1x and the result placed 1:1 at its place', async () => {
    const scene = await photoDocument({ width: 3000, height: 2000 }, { x: 1800, y: 1100 });
    await scene.figma.clientStorage.setAsync('pixels.panelSettings', { workingSize: 1024 });
    const { frame } = await openWith(scene);
    await frame.waitForSelector('#blend:not([disabled])');
    await frame.click('#blend');
    await frame.waitForSelector('.history-entry', { timeout: 60_000 });
    expect(await frame.textContent('#status-line')).toBe('Placed the result over the source.');

    const submission = server!.submissions[0];
    const sent = await decodePng(submission.source);
    // The sticker (120 px), the map's 32 px feather and 64 px of margin each side: under the 1024 px cap, so at 1x.
    expect(sent.width).toBeGreaterThanOrEqual(120 + 2 * 64);
    expect(sent.width).toBeLessThan(1024);
    const [placed] = placedResults(scene);
    const box = placed.absoluteBoundingBox;
    expect([box.width, box.height]).toEqual([sent.width, sent.height]);
    const origin = scene.source.absoluteBoundingBox;
    const at = { x: box.x - origin.x, y: box.y - origin.y };
    expect(Number.isInteger(at.x) && Number.isInteger(at.y)).toBe(true);
    expect(containsBox(box, scene.sticker.absoluteBoundingBox)).toBe(true);

    // What was sent is the source at 1x at exactly that place, pixel for pixel (the sticker not baked in).
    scene.sticker.visible = false;
    const whole = await decodePng(
      await scene.source.exportAsync({
        format: 'PNG',
        constraint: { type: 'SCALE', value: 1 },
        useAbsoluteBounds: true,
      }),
    );
    scene.sticker.visible = true;
    expect([whole.width, whole.height]).toEqual([3000, 2000]);
    let differing = 0;
    for (let y = 0; y < sent.height; y++) {
      for (let x = 0; x < sent.width; x++) {
        const from = ((y + at.y) * whole.width + x + at.x) * 4;
        const to = (y * sent.width + x) * 4;
        for (let c = 0; c < 4; c++) if (whole.data[from + c] !== sent.data[to + c]) differing++;
      }
    }
    expect(differing).toBe(0);
    // The placed image is the server's result, byte for byte, unscaled.
    const imageHash = (placed.fills as unknown as Array<{ imageHash: string }>)[0].imageHash;
    expect(scene.figma.images.get(imageHash)).toEqual(server!.jobs.get('job-1')!.result);
    expect(readPngSize(scene.figma.images.get(imageHash)!)).toEqual({ width: sent.width, height: sent.height });
  }, 120_000);

  it('a region longer than the working-size cap: sent scaled down, placed scaled up over it, and the panel says so', async () => {
    const scene = await photoDocument({ width: 3000, height: 2000 }, { x: 1800, y: 1100 });
    await scene.figma.clientStorage.setAsync('pixels.panelSettings', { workingSize: 256 });
    const { frame } = await openWith(scene);
    await frame.waitForSelector('#blend:not([disabled])');
    await frame.click('#blend');
    await frame.waitForSelector('.history-entry', { timeout: 60_000 });
    const sent = readPngSize(server!.submissions[0].source);
    expect(Math.max(sent.width, sent.height)).toBeLessThanOrEqual(256);
    expect(Math.max(sent.width, sent.height)).toBeGreaterThan(200);
    const notes = await frame.$$eval('#notes .note', (items) => items.map((item) => item.textContent));
    expect(
      notes.some((note) =>
        /^Sends the region around the edit, scaled by 0\.\d+× to fit the working size of 256 px; the result is placed scaled up 1\.\d+× over it\./.test(
          note ?? '',
        ),
      ),
    ).toBe(true);
    const [placed] = placedResults(scene);
    const box = placed.absoluteBoundingBox;
    expect(box.width).toBeGreaterThan(256);
    expect(containsBox(box, scene.sticker.absoluteBoundingBox)).toBe(true);
    expect(containsBox(scene.source.absoluteBoundingBox, box)).toBe(true);
  }, 120_000);

  it('Ctrl+Enter blends', async () => {
    const { frame, page } = await openWith(await photoDocument());
    await frame.waitForSelector('#blend:not([disabled])');
    await frame.focus('#strength');
    await page.keyboard.press('Control+Enter');
    await expect.poll(() => server!.submissions.length).toBe(1);
  });

  it('queued: a moving bar with the place in line and the expected wait; cancel clears it', async () => {
    const scene = await photoDocument();
    // A result from earlier in this file: 10 steps in 2 s, so the panel can estimate the wait.
    await scene.addEarlierResult({ runMs: 2000, runSteps: 10 });
    const { frame } = await openWith(scene, { holdJobs: true });
    await frame.waitForSelector('#blend:not([disabled])');
    await frame.click('#blend');
    // 20 steps × 0.6 = 12 steps at 200 ms a step, first in line: about 2.4 s.
    await frame.waitForFunction(
      () => document.getElementById('status-line')?.textContent === 'Queued: 1st in line · about 5 s',
    );
    expect(await frame.getAttribute('#run-progress', 'data-indeterminate')).toBe('true');
    const left = () => frame.$eval('#run-progress-bar', (bar) => bar.getBoundingClientRect().left);
    const first = await left();
    await frame.waitForTimeout(300);
    expect(await left()).not.toBe(first);
    expect(await frame.isVisible('#cancel')).toBe(true);
    await frame.click('#cancel');
    await frame.waitForFunction(() => document.getElementById('status-line')?.textContent === 'Canceled.');
    expect(server!.jobs.get('job-1')!.state).toBe('canceled');
    expect(await frame.isHidden('#run-progress')).toBe(true);
    expect(await frame.isHidden('#cancel')).toBe(true);
    const pendingKeys = [...scene.figma.clientStorage.values.keys()].filter((key) =>
      key.startsWith('pixels.pendingJobs.'),
    );
    expect(pendingKeys).toEqual([]);
  });

  it('resumes a job after the plugin is closed and reopened, and draws the preview', async () => {
    const scene = await photoDocument();
    const first = await openWith(scene, { holdJobs: true });
    await first.frame.waitForSelector('#blend:not([disabled])');
    await first.frame.click('#blend');
    await first.frame.waitForFunction(() =>
      (document.getElementById('status-line')?.textContent ?? '').startsWith('Queued: 1st in line'),
    );
    // Closed once the main thread has recorded the job: the panel's message to it crosses the test
    // host's bridge, which drops a message still in flight when its page closes.
    await vi.waitFor(
      () =>
        expect([...scene.figma.clientStorage.values.keys()].some((key) => key.startsWith('pixels.pendingJobs.'))).toBe(
          true,
        ),
      { timeout: 5_000, interval: 20 },
    );
    await first.page.close();
    panel = undefined;
    server!.releaseJobs();

    const { frame } = await reopen(scene);
    await frame.waitForSelector('.history-entry', { timeout: 20_000 });
    expect(placedResults(scene)).toHaveLength(1);
    await frame.waitForSelector('#map-preview[data-state="drawn"]');
  });

  it('"Make a variation" on a result blends its layers again with a new seed, and draws the preview', async () => {
    const scene = await photoDocument();
    const first = await openWith(scene);
    await first.frame.waitForSelector('#blend:not([disabled])');
    await first.frame.click('#blend');
    await first.frame.waitForSelector('.history-entry', { timeout: 20_000 });

    scene.figma.currentPage.selection = placedResults(scene);
    scene.figma.command = 'variation';
    const { frame } = await reopen(scene);
    await frame.waitForFunction(() => document.querySelectorAll('.history-entry').length === 2, undefined, {
      timeout: 20_000,
    });
    expect(scene.figma.currentPage.selection.map((node) => node.id)).toEqual([scene.source.id, scene.sticker.id]);
    expect(server!.submissions.map((submission) => submission.settings.seed)).toEqual([undefined, undefined]);
    expect(new Set(placedResults(scene).map((node) => node.name)).size).toBe(2);
    await frame.waitForSelector('#map-preview[data-state="drawn"]');
  });
});

describe('the panel in Chromium: history', () => {
  it('variations side by side; select and zoom, re-run with a seed, delete; all still there after reopening', async () => {
    const scene = await photoDocument();
    await scene.figma.clientStorage.setAsync('pixels.panelSettings', { variations: 3 });
    const { frame, hops } = await openWith(scene, { steps: 2, stepDelayMs: 20 });
    await frame.waitForSelector('#blend:not([disabled])');
    await frame.click('#blend');
    await frame.waitForFunction(() => document.querySelectorAll('.history-entry').length === 3, undefined, {
      timeout: 20_000,
    });
    // The panel asked for the history after the placements were answered (once for answers close
    // together): each answer went out before the main thread exported the new result's thumbnail.
    // A placed result's tile shows before the history lists it, so the last ask may still be on
    // its way when the three tiles are up: it is waited for.
    const hopsOf = (direction: MessageHop['direction'], type: string) =>
      hops.filter((hop) => hop.direction === direction && hop.type === type);
    await expect.poll(() => hopsOf('to-ui', 'placed').length, { timeout: 20_000 }).toBe(3);
    const answers = hopsOf('to-ui', 'placed');
    await expect
      .poll(() => hopsOf('to-main', 'list-history').at(-1)?.sentAt ?? 0, { timeout: 20_000 })
      .toBeGreaterThan(answers[2].sentAt);
    const asked = hopsOf('to-main', 'list-history');
    expect(asked[0].sentAt).toBeGreaterThan(answers[0].sentAt);
    // One batch, three thumbnails in a row.
    expect(await frame.$$eval('.history-batch', (batches) => batches.length)).toBe(1);
    const tops = await frame.$$eval('.history-entry', (tiles) => tiles.map((tile) => tile.getBoundingClientRect().top));
    expect(new Set(tops).size).toBe(1);
    await frame.waitForFunction(() =>
      [...document.querySelectorAll<HTMLImageElement>('.history-entry img')].every(
        (image) => image.complete && image.naturalWidth > 0,
      ),
    );
    const seeds = [...server!.jobs.values()].map((job) => job.seed);
    expect(
      await frame.$$eval('.history-entry .tile-caption', (captions) => captions.map((c) => c.textContent)),
    ).toEqual(seeds.map((seed) => `seed ${seed}`));

    // Choose the second variation: its actions show.
    await frame.click('.history-entry >> nth=1');
    expect(await frame.getAttribute('.history-entry >> nth=1', 'aria-pressed')).toBe('true');
    expect(await frame.textContent('[data-action="rerun"]')).toBe(`Re-run seed ${seeds[1]}`);
    const second = await frame.getAttribute('.history-entry >> nth=1', 'data-node-id');

    await frame.click('[data-action="select"]');
    await expect.poll(() => scene.figma.currentPage.selection.map((node) => node.id)).toEqual([second]);
    expect(scene.figma.zoomedTo.at(-1)).toEqual([second]);

    await frame.click('[data-action="rerun"]');
    await frame.waitForFunction(() => document.querySelectorAll('.history-entry').length === 4, undefined, {
      timeout: 20_000,
    });
    expect(server!.submissions.at(-1)!.settings.seed).toBe(seeds[1]);
    expect(scene.figma.currentPage.selection.map((node) => node.id)).toEqual([scene.source.id, scene.sticker.id]);

    // Delete the re-run (the newest batch comes first).
    await frame.click('.history-batch >> nth=0 >> [data-action="delete"]');
    await frame.waitForFunction(() => document.querySelectorAll('.history-entry').length === 3);
    expect(placedResults(scene)).toHaveLength(3);

    const { frame: reopened } = await reopen(scene);
    await reopened.waitForFunction(() => document.querySelectorAll('.history-entry').length === 3);
    expect(await reopened.$$eval('.history-batch', (batches) => batches.length)).toBe(1);
    expect(await reopened.textContent('#history-count')).toBe('3 results');
  });

  it('after reopening, the history covers every page; Select on a result from another page shows that page first', async () => {
    const scene = await photoDocument();
    const archive = scene.figma.page('Archive');
    const archived = await scene.addEarlierResult({ jobId: 'archived-job' });
    archived.name = 'PIXELS · builtin · archived';
    archive.appendChild(archived);
    const { frame } = await openWith(scene, { steps: 2, stepDelayMs: 20 });
    await frame.waitForSelector('#blend:not([disabled])');
    await frame.click('#blend');
    await frame.waitForFunction(() => document.querySelectorAll('.history-entry').length === 2, undefined, {
      timeout: 20_000,
    });

    // A new run: under dynamic-page access only the page the designer is on is loaded.
    scene.figma.startNewRun();
    const { frame: reopened } = await reopen(scene);
    await reopened.waitForFunction(() => document.querySelectorAll('.history-entry').length === 2);
    expect(await reopened.textContent('#history-count')).toBe('2 results');
    expect(await reopened.$$eval('.batch-page', (spans) => spans.map((span) => span.textContent))).toEqual([
      'Page 1',
      'Archive',
    ]);
    expect(scene.figma.currentPage.name).toBe('Page 1');

    const archivedBatch = `.history-batch:has([data-node-id="${archived.id}"])`;
    await reopened.click(`${archivedBatch} [data-action="select"]`);
    await expect.poll(() => scene.figma.currentPage.name).toBe('Archive');
    expect(scene.figma.currentPage.selection.map((node) => node.id)).toEqual([archived.id]);
    expect(scene.figma.zoomedTo.at(-1)).toEqual([archived.id]);
    expect(scene.figma.changes).toContain(`show page ${archive.id}`);
  });
});
