import { EditSettings, readPngSize } from '@pixels/shared';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PANEL_SETTINGS, type PanelSettings } from '../../../../plugin/src/messages/panel-settings.ts';
import { decodePng } from '../../../../plugin/src/png/png-decode.ts';
import { composeLayers } from '../../../../plugin/src/ui/blend/compose-layers.ts';
import { editMapFor } from '../../../../plugin/src/ui/blend/edit-map.ts';
import { fitResult } from '../../../../plugin/src/ui/blend/fit-result.ts';
import { requestSettings } from '../../../../plugin/src/ui/blend/request-settings.ts';
import { exportedLayers } from '../../support/exported-layers.ts';
import { patternRaster, pixelAt, pngOf, solidRaster } from '../../support/test-images.ts';

describe('composeLayers', () => {
  it('puts every layer at its offset in the source frame, cropping the source to its own box', async () => {
    const layers = await exportedLayers({
      // A source exported with an 8 px shadow: its PNG starts 8 px up and left of the frame.
      source: { raster: patternRaster(56, 46), x: -8, y: -8 },
      exemplars: [
        { raster: solidRaster(10, 10, [255, 0, 0, 255]), x: 5, y: 6 },
        { raster: solidRaster(4, 4, [0, 0, 255, 128]), x: 38, y: 28 },
      ],
      map: { raster: solidRaster(20, 10, [255, 255, 255, 255]), x: 0, y: 0 },
    });
    layers.frame = { ...layers.frame, width: 40, height: 30 };
    const composed = await composeLayers(layers);
    expect([composed.width, composed.height]).toEqual([40, 30]);
    expect(pixelAt(composed.source, 0, 0)).toEqual(pixelAt(patternRaster(56, 46), 8, 8));
    expect(pixelAt(composed.exemplars[0], 5, 6)).toEqual([255, 0, 0, 255]);
    expect(pixelAt(composed.exemplars[0], 4, 6)).toEqual([0, 0, 0, 0]);
    expect(pixelAt(composed.exemplars[1], 39, 29)).toEqual([0, 0, 255, 128]);
    expect(composed.drawnMap?.data[0]).toBeCloseTo(1, 5);
    expect(composed.drawnMap?.data[25 * 40 + 25]).toBe(0);
  });

  it('notices an export whose pixels disagree with its header', async () => {
    const layers = await exportedLayers({
      source: { raster: patternRaster(8, 8) },
      exemplars: [{ raster: patternRaster(2, 2) }],
    });
    layers.exemplars[0].placement = { ...layers.exemplars[0].placement, width: 3 };
    await expect(composeLayers(layers)).rejects.toThrow(
      'The export of "exemplar-0" decoded to 2x2 but its header said 3x2; export it again.',
    );
  });
});

describe('editMapFor', () => {
  it("builds the map from the exemplars' shape, grown and feathered", async () => {
    const layers = await exportedLayers({
      source: { raster: patternRaster(40, 1) },
      exemplars: [{ raster: solidRaster(10, 1, [255, 0, 0, 255]), x: 0 }],
    });
    const composed = await composeLayers(layers);
    const { map, origin } = editMapFor(composed, { grow: 2, feather: 4, falloff: 'linear', invert: true });
    expect(origin).toBe('shape');
    expect(Array.from(map.data.slice(9, 18)).map((value) => Math.round(value * 100) / 100)).toEqual([
      1, 0.88, 0.63, 0.38, 0.13, 0, 0, 0, 0,
    ]);
    // A preview at half size halves the distances.
    const half = editMapFor(composed, { grow: 4, feather: 8, falloff: 'linear', invert: false }, 0.5);
    expect(Array.from(half.map.data.slice(9, 18)).map((value) => Math.round(value * 100) / 100)).toEqual([
      1, 0.88, 0.63, 0.38, 0.13, 0, 0, 0, 0,
    ]);
  });

  it('uses a drawn map as drawn, inverted only when asked', async () => {
    const layers = await exportedLayers({
      source: { raster: patternRaster(4, 1) },
      exemplars: [{ raster: solidRaster(1, 1, [255, 0, 0, 255]) }],
      map: { raster: solidRaster(2, 1, [255, 255, 255, 255]) },
    });
    const composed = await composeLayers(layers);
    expect(
      Array.from(editMapFor(composed, { grow: 9, feather: 9, falloff: 'smooth', invert: false }).map.data),
    ).toEqual([1, 1, 0, 0]);
    const inverted = editMapFor(composed, { grow: 9, feather: 9, falloff: 'smooth', invert: true });
    expect([inverted.origin, ...Array.from(inverted.map.data)]).toEqual(['drawn', 0, 0, 1, 1]);
  });
});

describe('requestSettings', () => {
  const panel: PanelSettings = {
    ...DEFAULT_PANEL_SETTINGS,
    edit: EditSettings.parse({ seed: 41, invertMap: true, prompt: 'moss' }),
  };

  it('leaves random seeds to the server and counts fixed seeds up per variation', () => {
    expect(requestSettings({ ...panel, seedMode: 'random' }, 1, 'drawn').seed).toBeUndefined();
    expect(requestSettings({ ...panel, seedMode: 'fixed' }, 0, 'drawn').seed).toBe(41);
    expect(requestSettings({ ...panel, seedMode: 'fixed' }, 2, 'drawn').seed).toBe(43);
    expect(
      requestSettings({ ...panel, seedMode: 'fixed', edit: { ...panel.edit, seed: 2 ** 32 - 1 } }, 1, 'drawn').seed,
    ).toBe(0);
  });

  it('sends invertMap only with a drawn map (a built map is already white = change)', () => {
    expect(requestSettings(panel, 0, 'drawn').invertMap).toBe(true);
    expect(requestSettings(panel, 0, 'shape').invertMap).toBe(false);
    expect(requestSettings(panel, 0, 'shape').prompt).toBe('moss');
  });
});

describe('fitResult', () => {
  const decode = decodePng;

  it('passes a result of the expected size through untouched', async () => {
    const png = await pngOf(patternRaster(30, 20));
    const fitted = await fitResult(png, { width: 30, height: 20 }, decode);
    expect(fitted).toEqual({ png, width: 30, height: 20, notes: [] });
  });

  it("shrinks a result beyond Figma's 4096 px limit and says so", async () => {
    const png = await pngOf(solidRaster(4200, 10, [10, 20, 30, 255]));
    const fitted = await fitResult(png, { width: 4200, height: 10 }, decode);
    expect(readPngSize(fitted.png)).toEqual({ width: 4096, height: 10 });
    expect(fitted.notes).toEqual([
      "The result is 4200×10 px, more than Figma's 4096 px image limit; it was placed downscaled to 4096×10.",
    ]);
    expect(pixelAt(await decodePng(fitted.png), 2000, 5)).toEqual([10, 20, 30, 255]);
  });

  it('says when the server answered with another size', async () => {
    const fitted = await fitResult(await pngOf(patternRaster(32, 24)), { width: 30, height: 20 }, decode);
    expect(fitted.notes).toEqual([
      'The server returned 32×24 px for a 30×20 px source; it was stretched over the source.',
    ]);
  });
});
