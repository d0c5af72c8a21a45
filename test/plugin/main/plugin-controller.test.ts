import { EditSettings, readPngSize } from '@pixels/shared';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type PluginController, startPlugin } from '../../../plugin/src/main/plugin-controller.ts';
import type { PendingJob } from '../../../plugin/src/messages/job-records.ts';
import { MainToUi } from '../../../plugin/src/messages/main-to-ui.ts';
import { DEFAULT_CONNECTION, DEFAULT_PANEL_SETTINGS } from '../../../plugin/src/messages/panel-settings.ts';
import { decodePng } from '../../../plugin/src/png/png-decode.ts';
import { type FakeContainer, FakeFigma, type FakeNode, FakeRectangle } from '../support/fake-figma.ts';
import { patternRaster, pixelAt, pngOf } from '../support/test-images.ts';

type Message<T extends MainToUi['type']> = Extract<MainToUi, { type: T }>;

const RED = [255, 0, 0, 255] as const;
const BLUE = [0, 0, 255, 255] as const;
const WHITE = [255, 255, 255, 255] as const;
const GRAY = [128, 128, 128, 255] as const;

interface Scene {
  figma: FakeFigma;
  controller: PluginController;
  source: FakeContainer;
  inner: FakeNode;
  shadowed: FakeNode;
  map: FakeNode;
}

/** A 400x300 frame at (100, 50) with an exemplar inside, one above it with a shadow, and a map. */
async function scene(): Promise<Scene> {
  const figma = new FakeFigma();
  const source = figma.frame({ name: 'Hero', x: 100, y: 50, width: 400, height: 300, paint: WHITE });
  const inner = figma.layer({ name: 'Sticker', x: 20, y: 30, width: 60, height: 40, paint: RED }, source);
  const shadowed = figma.layer({ name: 'Card', x: 300, y: 200, width: 50, height: 50, effectOutset: 8, paint: BLUE });
  const map = figma.layer({ name: 'Edit map', x: 110, y: 60, width: 100, height: 100, paint: GRAY });
  const controller = await startPlugin(figma, '<html>panel</html>');
  figma.currentPage.selection = [source, inner, shadowed, map];
  return { figma, controller, source, inner, shadowed, map };
}

function last<T extends MainToUi['type']>(figma: FakeFigma, type: T): Message<T> {
  const messages = figma.messagesOfType(type);
  expect(messages.length, `a "${type}" message was posted`).toBeGreaterThan(0);
  return MainToUi.parse(messages[messages.length - 1]) as Message<T>;
}

function placeMessage(sourceId: string, png: Uint8Array, overrides: Record<string, unknown> = {}) {
  return {
    type: 'place-result',
    jobId: 'job-7',
    serverUrl: 'http://localhost:8787',
    png,
    width: readPngSize(png).width,
    height: readPngSize(png).height,
    settings: EditSettings.parse({ prompt: 'weathered brick', strength: 0.7, steps: 30 }),
    seed: 1234,
    sourceId,
    exemplarIds: ['x'],
    notes: [],
    ...overrides,
  };
}

let consoleError: ReturnType<typeof vi.spyOn>;
beforeEach(() => {
  consoleError = vi.spyOn(console, 'error').mockImplementation(() => undefined);
});
afterEach(() => {
  consoleError.mockRestore();
});

describe('starting the plugin', () => {
  it('opens the themed panel and answers "ready" with settings, selection and pending jobs', async () => {
    const { figma } = await scene();
    expect(figma.shownUi).toEqual({
      html: '<html>panel</html>',
      options: { width: 340, height: 720, title: 'PIXELS', themeColors: true },
    });
    figma.ui.onmessage?.({ type: 'ready' }, { origin: 'null' });
    await vi.waitFor(() => expect(figma.messagesOfType('init')).toHaveLength(1));
    const init = last(figma, 'init');
    expect(init.connection).toEqual(DEFAULT_CONNECTION);
    expect(init.settings).toEqual(DEFAULT_PANEL_SETTINGS);
    expect(init.pendingJobs).toEqual([]);
    expect(init.selection.canBlend).toBe(true);
    expect(init.relaunch).toBeUndefined();
  });

  it('ignores a malformed message and says why in the console', async () => {
    const { figma, controller } = await scene();
    const postedBefore = figma.sentToUi.length;
    await controller.receive({ type: 'set-role', nodeId: 5 });
    expect(consoleError).toHaveBeenCalledWith(
      expect.stringContaining('Ignored a malformed panel → main message "set-role" (nodeId:'),
    );
    expect(figma.sentToUi).toHaveLength(postedBefore);
  });
});

describe('selection and roles', () => {
  it('tells the panel about every selection change, with roles', async () => {
    const { figma, source, inner, shadowed, map } = await scene();
    figma.currentPage.selection = [source, inner, shadowed, map];
    const { selection } = last(figma, 'selection');
    expect(selection.source?.id).toBe(source.id);
    expect(selection.exemplarIds).toEqual([inner.id, shadowed.id]);
    expect(selection.mapId).toBe(map.id);
    figma.currentPage.selection = [];
    expect(last(figma, 'selection').selection.issues[0].code).toBe('empty');
  });

  it('remembers a chosen role on the node, and one source at a time', async () => {
    const { figma, controller, source, inner, shadowed } = await scene();
    await controller.receive({ type: 'set-role', nodeId: shadowed.id, role: 'ignore' });
    expect(shadowed.getPluginData('pixels.role')).toBe('ignore');
    let { selection } = last(figma, 'selection');
    expect(selection.exemplarIds).toEqual([inner.id]);
    expect(selection.rows.find((row) => row.id === shadowed.id)).toMatchObject({ role: 'ignore', origin: 'chosen' });

    await controller.receive({ type: 'set-role', nodeId: source.id, role: 'source' });
    await controller.receive({ type: 'set-role', nodeId: inner.id, role: 'source' });
    expect(source.getPluginData('pixels.role')).toBe('');
    expect(last(figma, 'selection').selection.source?.id).toBe(inner.id);

    await controller.receive({ type: 'set-role', nodeId: inner.id, role: 'automatic' });
    await controller.receive({ type: 'set-role', nodeId: shadowed.id, role: 'automatic' });
    ({ selection } = last(figma, 'selection'));
    expect(selection.source?.id).toBe(source.id);
    expect(selection.rows.every((row) => row.origin === 'automatic')).toBe(true);
  });

  it('tells the panel again when a selected layer, or one inside it, is edited on the canvas', async () => {
    const { figma, controller, source, inner } = await scene();
    const count = () => figma.messagesOfType('selection').length;
    const before = count();
    // The plugin's own changes while exporting or remembering roles are not edits.
    controller.nodesChanged([{ id: inner.id, type: 'PROPERTY_CHANGE', properties: ['visible', 'pluginData'] }]);
    controller.nodesChanged([{ id: 'elsewhere', type: 'PROPERTY_CHANGE', properties: ['x'] }]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(count()).toBe(before);
    controller.nodesChanged([{ id: inner.id, type: 'PROPERTY_CHANGE', properties: ['x'] }]);
    controller.nodesChanged([{ id: source.id, type: 'PROPERTY_CHANGE', properties: ['fills'] }]);
    await vi.waitFor(() => expect(count()).toBe(before + 1));
  });

  it('remembers the exemplar order the designer chose', async () => {
    const { figma, controller, inner, shadowed } = await scene();
    await controller.receive({ type: 'set-exemplar-order', nodeIds: [shadowed.id, inner.id] });
    expect([shadowed.getPluginData('pixels.exemplarOrder'), inner.getPluginData('pixels.exemplarOrder')]).toEqual([
      '0',
      '1',
    ]);
    expect(last(figma, 'selection').selection.exemplarIds).toEqual([shadowed.id, inner.id]);
  });
});

describe('exporting the selection', () => {
  it('exports every layer at one scale, hiding overlays while the source is exported', async () => {
    const { figma, controller, source, inner, shadowed, map } = await scene();
    await controller.receive({ type: 'export-layers', requestId: 'r1', maxSide: 1024 });
    const { layers, requestId } = last(figma, 'layers-exported');
    expect(requestId).toBe('r1');
    expect(layers.frame).toEqual({
      width: 400,
      height: 300,
      scale: 1,
      fullWidth: 400,
      fullHeight: 300,
      capped: false,
      window: { x: 0, y: 0, width: 400, height: 300 },
      region: false,
    });
    expect(layers.notes).toEqual([]);

    const sourceExport = figma.exports.find((call) => call.nodeId === source.id)!;
    expect(sourceExport.hiddenDuringExport.sort()).toEqual([inner.id, shadowed.id, map.id].sort());
    expect(figma.exports.every((call) => call.scale === 1 && call.useAbsoluteBounds)).toBe(true);
    expect([inner.visible, shadowed.visible, map.visible]).toEqual([true, true, true]);

    // The exemplar inside the frame is not baked into the source.
    const sourcePixels = await decodePng(layers.source.png);
    expect(pixelAt(sourcePixels, 30, 40)).toEqual([...WHITE]);
    expect(layers.source.placement).toEqual({ x: 0, y: 0, width: 400, height: 300, matched: 'bounds' });
    expect(layers.exemplars.map((layer) => [layer.id, layer.placement])).toEqual([
      [inner.id, { x: 20, y: 30, width: 60, height: 40, matched: 'bounds' }],
      [shadowed.id, { x: 192, y: 142, width: 66, height: 66, matched: 'render' }],
    ]);
    expect(layers.map?.placement).toEqual({ x: 10, y: 10, width: 100, height: 100, matched: 'bounds' });
  });

  it('caps the working size and says so', async () => {
    const figma = new FakeFigma();
    const source = figma.frame({ name: 'Poster', width: 2048, height: 1024, paint: WHITE });
    const exemplar = figma.layer({ width: 200, height: 100, x: 100, y: 100, paint: RED }, source);
    const controller = await startPlugin(figma, '');
    figma.currentPage.selection = [source, exemplar];
    await controller.receive({ type: 'export-layers', requestId: 'r', maxSide: 1024 });
    const { layers } = last(figma, 'layers-exported');
    expect(layers.frame).toMatchObject({ width: 1024, height: 512, scale: 0.5, capped: true });
    expect(layers.exemplars[0].placement).toMatchObject({ x: 50, y: 50, width: 100, height: 50 });
    expect(layers.notes).toEqual([
      'Sends the whole source, 1024×512 px, scaled by 0.5× to fit the working size of 1024 px; the result is placed scaled up 2× over it. Raise "Working size" for full resolution.',
    ]);
  });

  it('exports a 3000 px frame at 1x for a small edit, and says which region to send', async () => {
    const figma = new FakeFigma();
    const source = figma.frame({ name: 'Hero', x: 100, y: 50, width: 3000, height: 2000, paint: WHITE });
    const exemplar = figma.layer({ name: 'Sticker', width: 200, height: 100, x: 1000, y: 600, paint: RED }, source);
    const controller = await startPlugin(figma, '');
    figma.currentPage.selection = [source, exemplar];
    await controller.receive({
      type: 'export-layers',
      requestId: 'r',
      maxSide: 1024,
      edit: { spreadPx: 32, invertMap: false },
    });
    const { layers } = last(figma, 'layers-exported');
    // The whole frame would be capped at 1024 px; its region (400x300 px with spread and margin) is not.
    expect(layers.frame).toEqual({
      width: 3000,
      height: 2000,
      scale: 1,
      fullWidth: 3000,
      fullHeight: 2000,
      capped: false,
      window: { x: 900, y: 500, width: 400, height: 300 },
      region: true,
    });
    expect(figma.exports.every((call) => call.scale === 1)).toBe(true);
    // Only that region of the source is exported, through a slice removed afterwards.
    expect(readPngSize(layers.source.png)).toEqual({ width: 400, height: 300 });
    expect(layers.source.placement).toEqual({ x: 900, y: 500, width: 400, height: 300, matched: 'bounds' });
    expect(figma.exports[0]).toMatchObject({ hiddenDuringExport: [exemplar.id] });
    expect(figma.exports[0].nodeId).not.toBe(source.id);
    expect(figma.allNodes().some((node) => node.type === 'SLICE')).toBe(false);
    expect(exemplar.visible).toBe(true);
    expect(layers.exemplars[0].placement).toMatchObject({ x: 1000, y: 600, width: 200, height: 100 });
    expect(layers.notes).toEqual([]);
  });

  it("exports a small edit's region at 1x in a source beyond Figma's 4096 px, unless the whole source must be exported", async () => {
    const figma = new FakeFigma();
    const source = figma.frame({ name: 'Banner', width: 6000, height: 3000, paint: WHITE });
    const exemplar = figma.layer({ name: 'Sticker', width: 200, height: 100, x: 1000, y: 600, paint: RED }, source);
    const controller = await startPlugin(figma, '');
    figma.currentPage.selection = [source, exemplar];
    const blend = { type: 'export-layers', requestId: 'r', maxSide: 4096, edit: { spreadPx: 32, invertMap: false } };
    await controller.receive(blend);
    const alone = last(figma, 'layers-exported').layers;
    expect(alone.frame).toMatchObject({ scale: 1, capped: false, region: true });
    expect(alone.frame.window).toEqual({ x: 900, y: 500, width: 400, height: 300 });
    expect(readPngSize(alone.source.png)).toEqual({ width: 400, height: 300 });
    expect(alone.notes).toEqual([]);
    // A caption over the region: a slice would see it, so the whole source is exported, within 4096 px.
    figma.layer({ name: 'Caption', x: 1050, y: 700, width: 300, height: 40, paint: BLUE });
    await controller.receive(blend);
    const whole = last(figma, 'layers-exported').layers;
    expect(whole.frame).toMatchObject({ scale: 4096 / 6000, capped: true, region: true });
    expect(readPngSize(whole.source.png)).toEqual({ width: 4096, height: 2048 });
    expect(whole.notes[0]).toContain("Figma's 4096 px export limit for the 6000×3000 source");
  });

  it('a region larger than the cap is sent scaled down, and the note says the result is placed scaled up', async () => {
    const figma = new FakeFigma();
    const source = figma.frame({ name: 'Hero', width: 3000, height: 2000, paint: WHITE });
    const exemplar = figma.layer({ width: 1000, height: 800, x: 500, y: 500, paint: RED }, source);
    const controller = await startPlugin(figma, '');
    figma.currentPage.selection = [source, exemplar];
    await controller.receive({
      type: 'export-layers',
      requestId: 'r',
      maxSide: 512,
      edit: { spreadPx: 0, invertMap: false },
    });
    const { layers } = last(figma, 'layers-exported');
    expect(layers.frame).toMatchObject({ capped: true, region: true });
    expect(Math.max(layers.frame.window.width, layers.frame.window.height)).toBe(512);
    expect(layers.notes).toHaveLength(1);
    expect(layers.notes[0]).toMatch(
      /^Sends the region around the edit, scaled by 0\.\d+× to fit the working size of 512 px; the result is placed scaled up \d\.\d+× over it\./,
    );
  });

  it('a selection change while an export hides the exemplars is told once they are shown again', async () => {
    const { figma, controller, source, inner, shadowed, map } = await scene();
    const exported = controller.receive({ type: 'export-layers', requestId: 'r', maxSide: 1024 });
    for (let turn = 0; turn < 1000 && inner.visible; turn++) await new Promise((resolve) => setImmediate(resolve));
    expect(inner.visible).toBe(false);
    const before = figma.messagesOfType('selection').length;
    figma.currentPage.selection = [source, inner, shadowed, map];
    expect(figma.messagesOfType('selection')).toHaveLength(before);
    await exported;
    expect(figma.messagesOfType('selection')).toHaveLength(before + 1);
    const { selection } = last(figma, 'selection');
    expect(selection.issues.filter((issue) => issue.severity === 'error')).toEqual([]);
    expect(selection.exemplarIds).toEqual([inner.id, shadowed.id]);
  });

  it('shows hidden layers again when the export fails, and says what failed', async () => {
    const { figma, controller, source, inner, shadowed, map } = await scene();
    figma.exportFailures.set(source.id, 'Render failed');
    await controller.receive({ type: 'export-layers', requestId: 'r2', maxSide: 1024 });
    expect(last(figma, 'export-failed')).toEqual({
      type: 'export-failed',
      requestId: 'r2',
      message: 'Figma could not export "Hero" (Render failed). Try a smaller working size, or simplify the layer.',
    });
    expect([inner.visible, shadowed.visible, map.visible]).toEqual([true, true, true]);
  });

  it('refuses to export a selection that cannot be blended', async () => {
    const { figma, controller, source } = await scene();
    figma.currentPage.selection = [source];
    await controller.receive({ type: 'export-layers', requestId: 'r3', maxSide: 1024 });
    expect(last(figma, 'export-failed').message).toContain('Select at least one exemplar layer placed over "Hero"');
    expect(figma.exports).toEqual([]);
  });
});

describe('placing a result', () => {
  it('puts an image layer exactly over the source, directly above it, as one undo step', async () => {
    const figma = new FakeFigma();
    const row = figma.frame({ name: 'Row', x: 10, y: 20, width: 900, height: 400, layoutMode: 'HORIZONTAL' });
    figma.layer({ name: 'Before', x: 0, y: 0, width: 100, height: 100 }, row);
    const source = figma.frame({ name: 'Hero', x: 120, y: 16, width: 400, height: 300, paint: WHITE }, row);
    figma.layer({ name: 'After', x: 540, y: 0, width: 100, height: 100 }, row);
    const controller = await startPlugin(figma, '');
    figma.changes.length = 0;

    const png = await pngOf(patternRaster(400, 300));
    await controller.receive(placeMessage(source.id, png));

    const placed = last(figma, 'placed');
    const result = (await figma.getNodeByIdAsync(placed.nodeId)) as FakeRectangle;
    expect(result).toBeInstanceOf(FakeRectangle);
    expect(row.children.map((child) => child.name)).toEqual(['Before', 'Hero', placed.name, 'After']);
    expect(result.layoutPositioning).toBe('ABSOLUTE');
    expect(result.absoluteBoundingBox).toEqual(source.absoluteBoundingBox);
    expect(placed.name).toBe('PIXELS · builtin · strength 0.7 · 30 steps · linear · seed 1234 · "weathered brick"');
    expect(result.name).toBe(placed.name);
    expect(result.fills).toEqual([{ type: 'IMAGE', imageHash: 'image-1', scaleMode: 'FILL' }]);
    expect(figma.images.get('image-1')).toEqual(png);
    expect(JSON.parse(result.getPluginData('pixels.provenance'))).toMatchObject({
      plugin: 'pixels',
      jobId: 'job-7',
      seed: 1234,
      sourceId: source.id,
      settings: { prompt: 'weathered brick', seed: 1234 },
      width: 400,
      height: 300,
    });
    expect(Object.keys(result.relaunchData)).toEqual(['blend-again', 'variation']);
    expect(figma.notifications).toEqual([{ message: `Placed "${placed.name}"`, error: false }]);

    // Everything between the two commits is the result itself: one undo removes exactly it.
    const commits = figma.changes.flatMap((change, index) => (change === 'commit' ? [index] : []));
    expect(commits).toHaveLength(2);
    const step = figma.changes.slice(commits[0] + 1, commits[1]);
    expect(step.every((change) => change.includes(result.id) || change.startsWith('create image'))).toBe(true);
    expect(step).toContain(`insert ${result.id} into ${row.id} at 2`);
  });

  it('places the result of a region 1:1 over that region of the source', async () => {
    const figma = new FakeFigma();
    const parent = figma.frame({ name: 'Page frame', x: 10, y: 20, width: 4000, height: 3000 });
    const source = figma.frame({ name: 'Hero', x: 100, y: 50, width: 3000, height: 2000, paint: WHITE }, parent);
    const controller = await startPlugin(figma, '');
    const png = await pngOf(patternRaster(400, 300));
    await controller.receive(placeMessage(source.id, png, { box: { x: 900, y: 500, width: 400, height: 300 } }));
    const placed = last(figma, 'placed');
    const result = (await figma.getNodeByIdAsync(placed.nodeId)) as FakeRectangle;
    expect(result.absoluteBoundingBox).toEqual({ x: 10 + 100 + 900, y: 20 + 50 + 500, width: 400, height: 300 });
    expect(JSON.parse(result.getPluginData('pixels.provenance'))).toMatchObject({
      width: 400,
      height: 300,
      box: { x: 900, y: 500, width: 400, height: 300 },
    });
  });

  it('places over a source on the page without touching layout', async () => {
    const figma = new FakeFigma();
    const source = figma.frame({ name: 'Card', x: -40, y: 75.5, width: 320, height: 200 });
    const controller = await startPlugin(figma, '');
    await controller.receive(placeMessage(source.id, await pngOf(patternRaster(320, 200))));
    const result = figma.currentPage.children[1] as FakeRectangle;
    expect(figma.currentPage.children.map((child) => child.id)).toEqual([source.id, result.id]);
    expect(result.layoutPositioning).toBe('AUTO');
    expect(result.absoluteBoundingBox).toEqual({ x: -40, y: 75.5, width: 320, height: 200 });
  });

  it('forgets the pending job once placed', async () => {
    const { figma, controller, source } = await scene();
    await controller.receive({ type: 'job-submitted', job: pendingJob('job-7', source.id) });
    await controller.receive(placeMessage(source.id, await pngOf(patternRaster(400, 300))));
    await controller.receive({ type: 'ready' });
    expect(last(figma, 'init').pendingJobs).toEqual([]);
  });

  it('answers a placement without exporting anything: the history (a thumbnail export) waits for the panel to ask', async () => {
    const { figma, controller, source } = await scene();
    figma.sentToUi.length = 0;
    const exportsBefore = figma.exports.length;
    await controller.receive(placeMessage(source.id, await pngOf(patternRaster(400, 300))));
    expect(figma.sentToUi.map((message) => (message as { type: string }).type)).toEqual(['placed']);
    expect(figma.exports.length).toBe(exportsBefore);
  });

  it('explains why a result cannot be placed', async () => {
    const { figma, controller, source } = await scene();
    const tooLarge = await pngOf(patternRaster(4100, 8));
    await controller.receive(placeMessage(source.id, tooLarge));
    expect(last(figma, 'place-failed').message).toBe(
      'The result is 4100×8 px; Figma images can be at most 4096 px per side. Lower the working size and blend again.',
    );
    source.remove();
    await controller.receive(placeMessage(source.id, await pngOf(patternRaster(40, 30))));
    expect(last(figma, 'place-failed').message).toBe(
      'The source layer of this result no longer exists (deleted, or on a page that is not open). Select the layers and blend again.',
    );
  });
});

function pendingJob(jobId: string, sourceId: string): PendingJob {
  return {
    jobId,
    serverUrl: 'http://localhost:8787',
    sourceId,
    exemplarIds: ['1:1'],
    settings: EditSettings.parse({}),
    width: 400,
    height: 300,
    submittedAt: '2026-01-01T00:00:00.000Z',
  };
}

describe('client storage', () => {
  it('keeps the connection and panel settings between runs', async () => {
    const { figma, controller } = await scene();
    const settings = { ...DEFAULT_PANEL_SETTINGS, variations: 3, workingSize: 768 };
    await controller.receive({
      type: 'save-connection',
      connection: { serverUrl: 'https://pixels.example.com', token: 't0k3n' },
    });
    await controller.receive({ type: 'save-settings', settings });
    const reopened = await startPlugin(figma, '');
    await reopened.receive({ type: 'ready' });
    const init = last(figma, 'init');
    expect(init.connection).toEqual({ serverUrl: 'https://pixels.example.com', token: 't0k3n' });
    expect(init.settings).toEqual(settings);
  });

  it('falls back to defaults when stored settings are unreadable', async () => {
    const { figma, controller } = await scene();
    figma.clientStorage.values.set('pixels.panelSettings', { workingSize: 'huge' });
    await controller.receive({ type: 'ready' });
    expect(last(figma, 'init').settings).toEqual(DEFAULT_PANEL_SETTINGS);
  });

  it('keeps submitted jobs per document until they end, for a reopened plugin to resume', async () => {
    const { figma, controller, source } = await scene();
    await controller.receive({ type: 'job-submitted', job: pendingJob('job-1', source.id) });
    await controller.receive({ type: 'job-submitted', job: pendingJob('job-2', source.id) });
    await controller.receive({ type: 'job-ended', jobId: 'job-1' });
    const reopened = await startPlugin(figma, '');
    await reopened.receive({ type: 'ready' });
    expect(last(figma, 'init').pendingJobs.map((job) => job.jobId)).toEqual(['job-2']);

    // Another document shares the user's clientStorage but not its pending jobs.
    const otherDocument = new FakeFigma();
    for (const [key, value] of figma.clientStorage.values) otherDocument.clientStorage.values.set(key, value);
    const elsewhere = await startPlugin(otherDocument, '');
    await elsewhere.receive({ type: 'ready' });
    expect(last(otherDocument, 'init').pendingJobs).toEqual([]);
  });
});

describe('relaunch buttons', () => {
  it('"Make a variation" reselects the layers a result was made from and hands the panel its settings', async () => {
    const { figma, controller, source, inner } = await scene();
    const png = await pngOf(patternRaster(400, 300));
    await controller.receive(placeMessage(source.id, png, { exemplarIds: [inner.id] }));
    const result = await figma.getNodeByIdAsync(last(figma, 'placed').nodeId);
    figma.currentPage.selection = [result!];
    figma.command = 'variation';
    const relaunched = await startPlugin(figma, '');
    expect(figma.currentPage.selection.map((node) => node.id)).toEqual([source.id, inner.id]);
    await relaunched.receive({ type: 'ready' });
    const init = last(figma, 'init');
    expect(init.relaunch).toMatchObject({ mode: 'variation', settings: { prompt: 'weathered brick', seed: 1234 } });
    expect(init.selection.exemplarIds).toEqual([inner.id]);
  });

  it('says what to select when the selection is not a result', async () => {
    const { figma, source } = await scene();
    figma.currentPage.selection = [source];
    figma.command = 'blend-again';
    await startPlugin(figma, '');
    expect(figma.notifications).toEqual([{ message: 'Select a PIXELS result layer to blend it again.', error: true }]);
  });
});

describe('the history of results', () => {
  async function withResults() {
    const figma = new FakeFigma();
    const source = figma.frame({ name: 'Hero', x: 0, y: 0, width: 400, height: 300, paint: WHITE });
    const sticker = figma.layer({ name: 'Sticker', x: 20, y: 30, width: 60, height: 40, paint: RED }, source);
    const controller = await startPlugin(figma, '');
    const png = await pngOf(patternRaster(400, 300));
    const base = { exemplarIds: [sticker.id], batchId: 'batch-a', runMs: 1200, runSteps: 12 };
    await controller.receive(placeMessage(source.id, png, { ...base, jobId: 'job-1', seed: 1, variation: 1 }));
    await controller.receive(placeMessage(source.id, png, { ...base, jobId: 'job-2', seed: 2, variation: 0 }));
    await controller.receive(
      placeMessage(source.id, png, { ...base, jobId: 'job-3', seed: 3, batchId: 'batch-b', promptUsed: false }),
    );
    // The panel asks for the history once a placement is answered.
    await controller.receive({ type: 'list-history' });
    return { figma, controller, source, sticker };
  }

  it('is rebuilt from the result layers on the page, newest first, with thumbnails and provenance', async () => {
    const { figma, controller } = await withResults();
    figma.sentToUi.length = 0;
    await controller.receive({ type: 'list-history' });
    const { entries } = last(figma, 'history');
    expect(entries.map((entry) => entry.provenance.seed)).toEqual([3, 2, 1]);
    expect(entries.map((entry) => entry.provenance.batchId)).toEqual(['batch-b', 'batch-a', 'batch-a']);
    expect(entries[1].provenance).toMatchObject({ variation: 0, runMs: 1200, runSteps: 12 });
    for (const entry of entries) expect(readPngSize(entry.thumbnail!)).toEqual({ width: 144, height: 108 });
    // The model ignored the prompt: the layer's name leaves it out.
    expect(entries[0].name).toBe('PIXELS · builtin · strength 0.7 · 30 steps · linear · seed 3');
    // Thumbnails are made once per image.
    const exportsBefore = figma.exports.length;
    await controller.receive({ type: 'list-history' });
    expect(figma.exports.length).toBe(exportsBefore);
  });

  it('selects and zooms to a result, deletes one in its own undo step, and re-runs one on its layers', async () => {
    const { figma, controller, source, sticker } = await withResults();
    const [newest, second] = last(figma, 'history').entries;
    await controller.receive({ type: 'select-result', nodeId: second.nodeId });
    expect(figma.currentPage.selection.map((node) => node.id)).toEqual([second.nodeId]);
    expect(figma.zoomedTo).toEqual([[second.nodeId]]);

    figma.changes.length = 0;
    await controller.receive({ type: 'delete-result', nodeId: newest.nodeId });
    expect(figma.changes).toEqual(['commit', `remove ${newest.nodeId}`, 'commit']);
    expect(last(figma, 'history').entries.map((entry) => entry.nodeId)).not.toContain(newest.nodeId);

    await controller.receive({ type: 'rerun-result', nodeId: second.nodeId });
    expect(last(figma, 'rerun')).toMatchObject({ nodeId: second.nodeId, seed: 2 });
    expect(figma.currentPage.selection.map((node) => node.id)).toEqual([source.id, sticker.id]);

    sticker.remove();
    await controller.receive({ type: 'rerun-result', nodeId: second.nodeId });
    expect(last(figma, 'rerun-failed').message).toContain('Some layers this result was made from are gone');
  });

  it('covers every page of the file: loads the other pages first, names each, and Select switches page', async () => {
    const figma = new FakeFigma();
    const cover = figma.frame({ name: 'Cover', x: 0, y: 0, width: 400, height: 300, paint: WHITE });
    const archive = figma.page('Archive');
    const old = figma.frame({ name: 'Old hero', x: 0, y: 0, width: 400, height: 300, paint: WHITE }, archive);
    const png = await pngOf(patternRaster(400, 300));
    const first = await startPlugin(figma, '');
    await first.receive(placeMessage(cover.id, png, { jobId: 'job-1', seed: 1 }));
    await figma.setCurrentPageAsync(archive);
    await first.receive(placeMessage(old.id, png, { jobId: 'job-2', seed: 2 }));
    await figma.setCurrentPageAsync(figma.pages[0]);

    // Reopened on the first page: under dynamic-page access the archive must be loaded again.
    figma.startNewRun();
    expect(() => archive.findAllWithCriteria({ pluginData: { keys: ['pixels.provenance'] } })).toThrow(
      'Call `await page.loadAsync()`',
    );
    figma.sentToUi.length = 0;
    const reopened = await startPlugin(figma, '');
    await reopened.receive({ type: 'list-history' });
    const { entries } = last(figma, 'history');
    expect(entries.map((entry) => [entry.provenance.seed, entry.page.name])).toEqual([
      [2, 'Archive'],
      [1, 'Page 1'],
    ]);
    expect(entries.every((entry) => entry.thumbnail !== undefined)).toBe(true);

    // Select on the archived result shows its page first, then selects and zooms to it.
    await reopened.receive({ type: 'select-result', nodeId: entries[0].nodeId });
    expect(figma.currentPage).toBe(archive);
    expect(figma.currentPage.selection.map((node) => node.id)).toEqual([entries[0].nodeId]);
    expect(figma.zoomedTo.at(-1)).toEqual([entries[0].nodeId]);
    expect(() => {
      (figma as { currentPage: unknown }).currentPage = figma.pages[0];
    }).toThrow('Use figma.setCurrentPageAsync instead.');
  });
});
