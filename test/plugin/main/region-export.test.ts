/**
 * The region around an edit exported through a slice, from the main thread's export to the
 * placed result on the canvas: the source sent is exactly the canvas inside the region, and the
 * result lies 1:1 over it, so the canvas outside the edit is untouched to the pixel.
 */
import { EditSettings, readPngSize, shapeToMap } from '@pixels/shared';
import { describe, expect, it } from 'vitest';
import { shapeMapReach } from '../../../plugin/src/common/export-sizing.ts';
import { onlySourceShows } from '../../../plugin/src/main/export-layers.ts';
import { type PluginController, startPlugin } from '../../../plugin/src/main/plugin-controller.ts';
import { MainToUi } from '../../../plugin/src/messages/main-to-ui.ts';
import { decodePng } from '../../../plugin/src/png/png-decode.ts';
import { encodePng } from '../../../plugin/src/png/png-encode.ts';
import { createRaster, type Raster } from '../../../plugin/src/png/raster.ts';
import { prepareUpload } from '../../../plugin/src/ui/blend/prepare-upload.ts';
import { alphaOf } from '../../../plugin/src/ui/images/layer-maps.ts';
import { type FakeContainer, FakeFigma, type FakeNode } from '../support/fake-figma.ts';
import { discRaster, patternRaster, pixelAt } from '../support/test-images.ts';

const PINK = [236, 72, 153, 255] as const;
const WHITE = [255, 255, 255, 255] as const;
const GROW = 0;
const FEATHER = 32;
const SHAPING = { grow: GROW, feather: FEATHER, falloff: 'smooth' as const, invert: false };
const AT_1X = { format: 'PNG', constraint: { type: 'SCALE', value: 1 }, useAbsoluteBounds: true } as const;

interface Scene {
  figma: FakeFigma;
  controller: PluginController;
  photo: Raster;
  source: FakeContainer;
  sticker: FakeNode;
}

/** A 900x600 photo frame at (100, 50) with a 90 px sticker inside it. */
async function scene(): Promise<Scene> {
  const figma = new FakeFigma();
  const photo = patternRaster(900, 600);
  const source = figma.frame({ name: 'Hero', x: 100, y: 50, width: 900, height: 600, image: photo });
  const sticker = figma.layer(
    { name: 'Sticker', x: 500, y: 250, width: 90, height: 90, image: discRaster(90, PINK) },
    source,
  );
  const controller = await startPlugin(figma, '');
  figma.currentPage.selection = [source, sticker];
  return { figma, controller, photo, source, sticker };
}

async function exportForBlend(figma: FakeFigma, controller: PluginController) {
  await controller.receive({
    type: 'export-layers',
    requestId: 'blend',
    maxSide: 4096,
    edit: { spreadPx: shapeMapReach(GROW, FEATHER), invertMap: false },
  });
  const messages = figma.messagesOfType('layers-exported');
  return (MainToUi.parse(messages[messages.length - 1]) as Extract<MainToUi, { type: 'layers-exported' }>).layers;
}

/** A stand-in for the server: the exemplar blended over the source by the map the server would build. */
function blendByShape(source: Raster, exemplar: Raster): { result: Raster; map: Float32Array } {
  const { data: map } = shapeToMap(alphaOf(exemplar), { grow: GROW, feather: FEATHER, falloff: 'smooth' });
  const result = createRaster(source.width, source.height, 4);
  for (let i = 0; i < map.length; i++) {
    for (let c = 0; c < 4; c++) {
      const mixed = source.data[i * 4 + c] * (1 - map[i]) + exemplar.data[i * 4 + c] * map[i];
      result.data[i * 4 + c] = c === 3 ? 255 : Math.round(mixed);
    }
  }
  return { result, map };
}

describe('exporting only the region around the edit', () => {
  it('sends exactly the canvas inside the region, and the result lands 1:1 over it, exact outside the edit', async () => {
    const { figma, controller, photo, source, sticker } = await scene();
    const layers = await exportForBlend(figma, controller);
    const { window } = layers.frame;
    expect(layers.frame).toMatchObject({ width: 900, height: 600, scale: 1, region: true });
    expect(window.width * window.height).toBeLessThan((900 * 600) / 4);
    // The source's export is the window: the photo's own pixels there, without the hidden sticker.
    expect(readPngSize(layers.source.png)).toEqual({ width: window.width, height: window.height });
    expect(layers.source.placement).toMatchObject({ x: window.x, y: window.y });
    const sentSource = await decodePng(layers.source.png);
    let differing = 0;
    for (let y = 0; y < window.height; y++)
      for (let x = 0; x < window.width; x++)
        if (pixelAt(sentSource, x, y).join() !== pixelAt(photo, window.x + x, window.y + y).join()) differing++;
    expect(differing).toBe(0);
    expect(figma.allNodes().some((node) => node.type === 'SLICE')).toBe(false);
    expect(sticker.visible).toBe(true);

    // The panel sends Figma's PNG as it is (no decode, no re-encode) and says where the result goes.
    const prepared = await prepareUpload(layers, SHAPING, decodePng);
    expect(prepared.upload.source).toBe(layers.source.png);
    expect(prepared.sent).toEqual(window);
    expect(prepared.box).toEqual(window);

    const exemplar = await decodePng(prepared.upload.exemplars[0]);
    const { result, map } = blendByShape(sentSource, exemplar);
    const png = await encodePng(result);
    await controller.receive({
      type: 'place-result',
      jobId: 'job-1',
      serverUrl: 'http://localhost:8787',
      png,
      width: result.width,
      height: result.height,
      box: prepared.box,
      settings: EditSettings.parse({}),
      seed: 1,
      sourceId: source.id,
      exemplarIds: [sticker.id],
      notes: [],
    });
    expect(figma.messagesOfType('place-failed')).toEqual([]);

    // The canvas over the whole frame, the sticker hidden: the photo outside the edit, the result inside.
    sticker.visible = false;
    const slice = figma.createSlice();
    slice.x = 100;
    slice.y = 50;
    slice.resize(900, 600);
    const canvas = await decodePng(await slice.exportAsync(AT_1X));
    slice.remove();
    let outsideChanged = 0;
    let insideWrong = 0;
    let edited = 0;
    for (let y = 0; y < 600; y++) {
      for (let x = 0; x < 900; x++) {
        const inWindow = x >= window.x && x < window.x + window.width && y >= window.y && y < window.y + window.height;
        const seen = pixelAt(canvas, x, y).join();
        const weight = inWindow ? map[(y - window.y) * window.width + x - window.x] : 0;
        if (weight === 0) {
          if (seen !== pixelAt(photo, x, y).join()) outsideChanged++;
        } else {
          edited++;
          if (seen !== pixelAt(result, x - window.x, y - window.y).join()) insideWrong++;
        }
      }
    }
    expect(edited).toBeGreaterThan(90 * 90 * 0.7);
    expect(outsideChanged).toBe(0);
    expect(insideWrong).toBe(0);
  });

  it('hides the results placed over the source before, so the next blend sees the source itself', async () => {
    const { figma, controller, photo, source } = await scene();
    const earlier = figma.layer({ name: 'Earlier result', x: 480, y: 230, width: 140, height: 140, paint: WHITE });
    figma.currentPage.insertChild(figma.currentPage.children.indexOf(source) + 1, earlier);
    earlier.setPluginData(
      'pixels.provenance',
      JSON.stringify({
        plugin: 'pixels',
        jobId: 'job-0',
        serverUrl: 'http://localhost:8787',
        settings: { ...EditSettings.parse({}), seed: 3 },
        seed: 3,
        sourceId: source.id,
        exemplarIds: ['x'],
        width: 140,
        height: 140,
        placedAt: new Date(0).toISOString(),
      }),
    );
    const layers = await exportForBlend(figma, controller);
    const { window } = layers.frame;
    expect(readPngSize(layers.source.png)).toEqual({ width: window.width, height: window.height });
    expect(figma.exports[0].hiddenDuringExport).toContain(earlier.id);
    expect(earlier.visible).toBe(true);
    const sent = await decodePng(layers.source.png);
    // Where the earlier result lies, the photo is sent.
    expect([window.x < 450, window.y < 200]).toEqual([true, true]);
    expect(pixelAt(sent, 450 - window.x, 200 - window.y)).toEqual(pixelAt(photo, 450, 200));
  });

  it("exports the whole source when another layer shows in the region, or a parent's paint would", async () => {
    const { figma, controller, source } = await scene();
    const label = figma.layer({ name: 'Label', x: 560, y: 280, width: 80, height: 20, paint: WHITE });
    const layers = await exportForBlend(figma, controller);
    expect(layers.frame.region).toBe(true);
    expect(readPngSize(layers.source.png)).toEqual({ width: 900, height: 600 });
    expect(figma.exports[0].nodeId).toBe(source.id);
    label.visible = false;
    const region = { x: 500, y: 250, width: 200, height: 200 };
    expect(onlySourceShows(source, region)).toBe(true);

    // The source moved into a parent (at the page's origin, so the source stays where it was).
    const inside = (init: { paint?: typeof WHITE; fills?: []; x?: number; width: number }) => {
      const parent = figma.frame({ name: 'Parent', y: 0, height: 800, x: 0, ...init });
      parent.appendChild(source);
      const only = onlySourceShows(source, region);
      figma.currentPage.appendChild(source);
      parent.remove();
      return only;
    };
    // A white artboard's fill would show through the source's transparent pixels.
    expect(inside({ width: 1200, paint: WHITE })).toBe(false);
    // An unpainted parent that holds the region does not.
    expect(inside({ width: 1200, fills: [] })).toBe(true);
    // A parent that would clip the region does (its right edge at 650 cuts the region at 500..700).
    expect(inside({ width: 650, fills: [] })).toBe(false);
  });
});
