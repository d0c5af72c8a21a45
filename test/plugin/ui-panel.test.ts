/**
 * The built panel (plugin/dist/ui.html) in a sandboxed iframe in real Chromium, driven by the real
 * main-thread code on the Figma fake, against the in-test PIXELS server (support/fake-pixels-server).
 * The same flows against the real server with the built-in model are in e2e.test.ts.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildPlugin } from '../../plugin/build.ts';
import { decodePng } from '../../plugin/src/png/png-decode.ts';
import { readPngSize } from '../../plugin/src/png/png-header.ts';
import { launchChromium } from './support/chromium.ts';
import { FakeFigma, type FakeNode, FakeRectangle } from './support/fake-figma.ts';
import { FakePixelsServer, type FakeServerOptions } from './support/fake-pixels-server.ts';
import { type OpenPanel, PanelHost } from './support/panel-harness.ts';
import { discRaster } from './support/test-images.ts';

const TOKEN = 'team-token';
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

interface PhotoScene {
  figma: FakeFigma;
  source: FakeNode;
  sticker: FakeNode;
}

/** A Figma document with a photo frame and a round sticker over it, both selected. */
async function photoDocument(): Promise<PhotoScene> {
  const figma = new FakeFigma();
  const photo = await decodePng(
    new Uint8Array(await readFile(new URL('../fixtures/images/chelsea.png', import.meta.url))),
  );
  const source = figma.frame({ name: 'Cat photo', x: 40, y: 40, width: 451, height: 300, image: photo });
  const sticker = figma.layer(
    { name: 'Sticker', x: 250, y: 90, width: 120, height: 120, image: discRaster(120, [236, 72, 153, 255]) },
    source,
  );
  figma.currentPage.selection = [source, sticker];
  return { figma, source, sticker };
}

async function openWith(scene: PhotoScene, options: FakeServerOptions = {}, token = TOKEN): Promise<OpenPanel> {
  server = new FakePixelsServer({ token: TOKEN, steps: 4, stepDelayMs: 60, ...options });
  await server.start();
  await scene.figma.clientStorage.setAsync('pixels.connection', { serverUrl: server.url, token });
  panel = await host.open(browser.context, scene.figma);
  return panel;
}

describe('the panel in Chromium', () => {
  it("runs in a null-origin sandbox, connects with the token and lists the server's models", async () => {
    const { frame } = await openWith(await photoDocument());
    expect(await frame.evaluate(() => window.origin)).toBe('null');
    await frame.waitForSelector('#connection-status[data-state="connected"]');
    expect(await frame.textContent('#connection-status')).toBe('Connected · 1 model');
    expect(await frame.$$eval('#model option', (options) => options.map((option) => option.textContent))).toEqual([
      'builtin · builtin',
    ]);
    expect(await frame.textContent('#prompt-hint')).toBe('builtin ignores prompts: it blends from the images alone.');
    const listing = server!.requests.find((request) => request.method === 'GET' && request.path === '/v1/models');
    expect(listing?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(server!.requests.some((request) => request.method === 'OPTIONS')).toBe(true);
  });

  it('says in plain words when the token is wrong', async () => {
    const { frame } = await openWith(await photoDocument(), {}, 'stale-token');
    await frame.waitForSelector('#connection-status[data-state="failed"]');
    expect(await frame.textContent('#connect-message')).toBe(
      'Missing or wrong bearer token. Check the access token under Server (ask whoever runs the server for one).',
    );
    await frame.fill('#server-token', TOKEN);
    await frame.click('#connect');
    await frame.waitForSelector('#connection-status[data-state="connected"]');
  });

  it('lists the selected layers with their roles, follows the selection and previews the map', async () => {
    const scene = await photoDocument();
    const { frame } = await openWith(scene);
    await frame.waitForSelector('.layer[data-role="exemplar"]');
    expect(
      await frame.$$eval('.layer', (rows) =>
        rows.map((row) => `${row.querySelector('.layer-name')?.textContent}:${(row as HTMLElement).dataset.role}`),
      ),
    ).toEqual(['Cat photo:source', 'Sticker:exemplar']);
    await frame.waitForFunction(() => (document.getElementById('map-preview') as HTMLCanvasElement).width > 1);
    expect(await frame.textContent('#map-origin')).toBe("from the exemplars' shape");
    expect(
      await frame.$eval('#map-preview', (canvas) => [
        (canvas as HTMLCanvasElement).width,
        (canvas as HTMLCanvasElement).height,
      ]),
    ).toEqual([320, 213]);

    scene.figma.currentPage.selection = [];
    await frame.waitForSelector('.issue[data-code="empty"]');
    expect(await frame.isDisabled('#blend')).toBe(true);
    expect(await frame.textContent('#blend-blocker')).toBe('Fix the selection above to blend.');

    scene.figma.currentPage.selection = [scene.source, scene.sticker];
    await frame.waitForSelector('#blend:not([disabled])');
    await frame.selectOption('.layer[data-role="exemplar"] select', 'ignore');
    await frame.waitForSelector('.issue[data-code="no-exemplar"]');
    expect(scene.sticker.getPluginData('pixels.role')).toBe('ignore');
  });

  it('blends: progress with steps and previews, then the result lands over the source', async () => {
    const scene = await photoDocument();
    const { frame } = await openWith(scene);
    await frame.waitForSelector('#connection-status[data-state="connected"]');
    await frame.check('#previews');
    await frame.waitForSelector('#blend:not([disabled])');
    await frame.click('#blend');
    await frame.waitForFunction(() =>
      /^Step [1-4] of 4$/.test(document.querySelector('.job-status')?.textContent ?? ''),
    );
    await frame.waitForSelector('.job-preview');
    await frame.waitForSelector('.job[data-phase="placed"]', { timeout: 20_000 });

    const submission = server!.submissions[0];
    expect(readPngSize(submission.source)).toEqual({ width: 451, height: 300 });
    expect(submission.exemplars.map(readPngSize)).toEqual([{ width: 451, height: 300 }]);
    // With the default smooth edge the server builds the map from the exemplar's shape itself.
    expect(submission.map).toBeUndefined();
    expect(submission.settings).toMatchObject({ grow: 0, feather: 32, invertMap: false });
    expect(submission.settings.previews).toBe(true);

    const result = scene.figma.currentPage.children.flatMap((child) =>
      'children' in child ? (child.children as FakeNode[]) : [child],
    );
    const placed = [...scene.figma.allNodes()].find((node) => node instanceof FakeRectangle) as FakeRectangle;
    expect(placed).toBeDefined();
    expect(result.length).toBeGreaterThan(0);
    expect(placed.absoluteBoundingBox).toEqual(scene.source.absoluteBoundingBox);
    const imageHash = (placed.fills as unknown as Array<{ imageHash: string }>)[0].imageHash;
    expect(readPngSize(scene.figma.images.get(imageHash)!)).toEqual({ width: 451, height: 300 });
    const seed = server!.jobs.get('job-1')!.seed;
    expect(await frame.textContent('.job-seed')).toBe(`Seed ${seed} Use this seed`);
    await frame.click('.job-seed button');
    expect(await frame.inputValue('#seed-mode')).toBe('fixed');
    expect(await frame.inputValue('#seed')).toBe(String(seed));
  });

  it('"Make a variation" on a result blends its layers again with a new seed', async () => {
    const scene = await photoDocument();
    const first = await openWith(scene);
    await first.frame.waitForSelector('#blend:not([disabled])');
    await first.frame.click('#blend');
    await first.frame.waitForSelector('.job[data-phase="placed"]', { timeout: 20_000 });
    await first.page.close();
    panel = undefined;

    const [result] = scene.figma.allNodes().filter((node) => node instanceof FakeRectangle);
    scene.figma.currentPage.selection = [result];
    scene.figma.command = 'variation';
    panel = await host.open(browser.context, scene.figma);
    await panel.frame.waitForSelector('.job[data-phase="placed"]', { timeout: 20_000 });
    expect(scene.figma.currentPage.selection.map((node) => node.id)).toEqual([scene.source.id, scene.sticker.id]);
    const results = scene.figma.allNodes().filter((node) => node instanceof FakeRectangle);
    expect(results).toHaveLength(2);
    expect(server!.submissions.map((submission) => submission.settings.seed)).toEqual([undefined, undefined]);
    expect(new Set(results.map((node) => node.name)).size).toBe(2);
  });

  it('cancels a queued job on the server', async () => {
    const scene = await photoDocument();
    const { frame } = await openWith(scene, { holdJobs: true });
    await frame.waitForSelector('#blend:not([disabled])');
    await frame.click('#blend');
    await frame.waitForFunction(() => document.querySelector('.job-status')?.textContent === 'Queued: 1st in line');
    expect(await frame.isVisible('#cancel')).toBe(true);
    await frame.click('#cancel');
    await frame.waitForSelector('.job[data-phase="canceled"]');
    expect(server!.jobs.get('job-1')!.state).toBe('canceled');
    expect(await frame.isVisible('#cancel')).toBe(false);
    await expect.poll(() => scene.figma.clientStorage.values.size).toBeGreaterThan(0);
    const pendingKeys = [...scene.figma.clientStorage.values.keys()].filter((key) =>
      key.startsWith('pixels.pendingJobs.'),
    );
    expect(pendingKeys).toEqual([]);
  });

  it('shows a server failure with what to do', async () => {
    const { frame } = await openWith(await photoDocument(), {
      steps: 1,
      failJobsWith: { code: 'model_error', message: 'The model ran out of memory.' },
    });
    await frame.waitForSelector('#blend:not([disabled])');
    await frame.click('#blend');
    await frame.waitForSelector('.job[data-phase="failed"]');
    expect(await frame.textContent('.job-problem')).toBe(
      "The model ran out of memory.The model failed on the server. Try again or pick another model; tell the server's admin if it repeats.",
    );
  });

  it('resumes a job after the plugin is closed and reopened', async () => {
    const scene = await photoDocument();
    const first = await openWith(scene, { holdJobs: true });
    await first.frame.waitForSelector('#blend:not([disabled])');
    await first.frame.click('#blend');
    await first.frame.waitForFunction(
      () => document.querySelector('.job-status')?.textContent === 'Queued: 1st in line',
    );
    await first.page.close();
    panel = undefined;
    server!.releaseJobs();

    panel = await host.open(browser.context, scene.figma);
    await panel.frame.waitForSelector('.job[data-phase="placed"]', { timeout: 20_000 });
    expect(await panel.frame.textContent('.job-label')).toBe('Job from before the plugin closed');
    expect(scene.figma.allNodes().filter((node) => node instanceof FakeRectangle)).toHaveLength(1);
  });

  it("follows Figma's light and dark themes (and leaves screenshots for the README)", async () => {
    const scene = await photoDocument();
    const { page, frame } = await openWith(scene);
    await frame.waitForSelector('#connection-status[data-state="connected"]');
    await frame.waitForFunction(() => (document.getElementById('map-preview') as HTMLCanvasElement).width > 1);
    const background = () => frame.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await page.emulateMedia({ colorScheme: 'light' });
    expect(await background()).toBe('rgb(255, 255, 255)');
    const outputDir = join(process.cwd(), 'test-output', 'plugin');
    await mkdir(outputDir, { recursive: true });
    const light = await page.screenshot({ path: join(outputDir, 'panel-light.png') });
    await page.emulateMedia({ colorScheme: 'dark' });
    expect(await background()).toBe('rgb(44, 44, 44)');
    const dark = await page.screenshot({ path: join(outputDir, 'panel-dark.png') });
    if (process.env.PIXELS_UPDATE_SCREENSHOTS === '1') {
      await writeFile(new URL('../../plugin/docs/panel-light.png', import.meta.url), light);
      await writeFile(new URL('../../plugin/docs/panel-dark.png', import.meta.url), dark);
    }
  });
});
