import { readPngSize, shapeToMap } from '@pixels/shared';
import { describe, expect, it } from 'vitest';
import { decodePng } from '../../../../plugin/src/png/png-decode.ts';
import type { Raster } from '../../../../plugin/src/png/raster.ts';
import { prepareUpload } from '../../../../plugin/src/ui/blend/prepare-upload.ts';
import { alphaOf } from '../../../../plugin/src/ui/images/layer-maps.ts';
import { placeInFrame } from '../../../../plugin/src/ui/images/place-in-frame.ts';
import { exportedLayers } from '../../support/exported-layers.ts';
import { discRaster, patternRaster, pixelAt, solidRaster } from '../../support/test-images.ts';

/** `rect` of a raster, as a slice over it would export it. */
function cropOf(raster: Raster, rect: { x: number; y: number; width: number; height: number }): Raster {
  return placeInFrame(raster, -rect.x, -rect.y, rect.width, rect.height);
}

const SHAPING = { grow: 0, feather: 0, falloff: 'linear' as const, invert: false };
const SERVER_SHAPING = { grow: 8, feather: 24, falloff: 'smooth' as const, invert: false };

describe('prepareUpload', () => {
  it("sends Figma's own source PNG when it is exactly the frame", async () => {
    const layers = await exportedLayers({
      source: { raster: patternRaster(30, 20) },
      exemplars: [{ raster: solidRaster(5, 5, [255, 0, 0, 255]), x: 10, y: 4 }],
    });
    const prepared = await prepareUpload(layers, SHAPING, decodePng);
    expect(prepared.upload.source).toBe(layers.source.png);
    expect(prepared.upload.exemplars.map(readPngSize)).toEqual([{ width: 30, height: 20 }]);
    const map = await decodePng(prepared.upload.map!);
    expect([pixelAt(map, 12, 6), pixelAt(map, 9, 6)]).toEqual([
      [255, 255, 255, 255],
      [0, 0, 0, 255],
    ]);
    expect(prepared).toMatchObject({ mapOrigin: 'shape', width: 30, height: 20 });
  });

  it('leaves the map to the server when it would build the same one', async () => {
    const layers = await exportedLayers({
      source: { raster: patternRaster(30, 20) },
      exemplars: [{ raster: solidRaster(5, 5, [255, 0, 0, 255]), x: 10, y: 4 }],
    });
    const prepared = await prepareUpload(layers, SERVER_SHAPING, decodePng);
    expect(prepared.upload.map).toBeUndefined();
    expect(prepared.mapOrigin).toBe('shape');
    const drawn = await exportedLayers({
      source: { raster: patternRaster(30, 20) },
      exemplars: [{ raster: solidRaster(5, 5, [255, 0, 0, 255]) }],
      map: { raster: solidRaster(30, 20, [255, 255, 255, 255]) },
    });
    const withMap = await prepareUpload(drawn, SERVER_SHAPING, decodePng);
    expect(withMap.mapOrigin).toBe('drawn');
    expect(readPngSize(withMap.upload.map!)).toEqual({ width: 30, height: 20 });
  });

  it('crops a source whose shadow reaches outside the frame', async () => {
    const layers = await exportedLayers({
      source: { raster: patternRaster(34, 24), x: -2, y: -2 },
      exemplars: [{ raster: solidRaster(5, 5, [255, 0, 0, 255]) }],
    });
    layers.frame = { ...layers.frame, width: 30, height: 20, window: { x: 0, y: 0, width: 30, height: 20 } };
    const prepared = await prepareUpload(layers, SHAPING, decodePng);
    const source = await decodePng(prepared.upload.source);
    expect([source.width, source.height]).toEqual([30, 20]);
    expect(pixelAt(source, 0, 0)).toEqual(pixelAt(patternRaster(34, 24), 2, 2));
  });

  it('sends only the region the edit touches inside the exported window, and where it goes', async () => {
    const layers = await exportedLayers({
      source: { raster: patternRaster(300, 200) },
      exemplars: [{ raster: solidRaster(10, 10, [255, 0, 0, 255]), x: 120, y: 90 }],
    });
    layers.frame = { ...layers.frame, window: { x: 50, y: 40, width: 200, height: 150 }, region: true };
    const prepared = await prepareUpload(layers, SHAPING, decodePng);
    // Touched: x 120..129, y 90..99; 64 px of margin each side, kept inside the window.
    expect(prepared.sent).toEqual({ x: 56, y: 40, width: 138, height: 124 });
    expect(prepared.box).toEqual({ x: 56, y: 40, width: 138, height: 124 });
    expect([prepared.width, prepared.height]).toEqual([138, 124]);
    const source = await decodePng(prepared.upload.source);
    expect([source.width, source.height]).toEqual([138, 124]);
    expect(pixelAt(source, 0, 0)).toEqual(pixelAt(patternRaster(300, 200), 56, 40));
    expect(pixelAt(source, 137, 123)).toEqual(pixelAt(patternRaster(300, 200), 193, 163));
    const exemplar = await decodePng(prepared.upload.exemplars[0]);
    expect([pixelAt(exemplar, 120 - 56, 90 - 40), pixelAt(exemplar, 119 - 56, 90 - 40)]).toEqual([
      [255, 0, 0, 255],
      [0, 0, 0, 0],
    ]);
    const map = await decodePng(prepared.upload.map!);
    expect([map.width, map.height]).toEqual([138, 124]);
    expect([pixelAt(map, 64, 50), pixelAt(map, 63, 50)]).toEqual([
      [255, 255, 255, 255],
      [0, 0, 0, 255],
    ]);
  });

  it('sends a source exported as the window (a slice) as Figma made it when the edit touches most of it', async () => {
    const photo = patternRaster(300, 200);
    const window = { x: 50, y: 40, width: 200, height: 150 };
    const layers = await exportedLayers({
      source: { raster: cropOf(photo, window), ...window },
      exemplars: [{ raster: solidRaster(10, 10, [255, 0, 0, 255]), x: 120, y: 90 }],
    });
    layers.frame = { ...layers.frame, width: 300, height: 200, fullWidth: 300, fullHeight: 200, window, region: true };
    let decoded = 0;
    const prepared = await prepareUpload(layers, SHAPING, (png, region) => {
      decoded++;
      return decodePng(png, region);
    });
    // The edit touches 138x124 of the window's 200x150 px (57%): the window goes whole, the source undecoded.
    expect(prepared.upload.source).toBe(layers.source.png);
    expect(decoded).toBe(1);
    expect(prepared.sent).toEqual(window);
    expect(prepared.box).toEqual(window);
    const exemplar = await decodePng(prepared.upload.exemplars[0]);
    expect([exemplar.width, exemplar.height]).toEqual([200, 150]);
    expect([pixelAt(exemplar, 70, 50), pixelAt(exemplar, 69, 50)]).toEqual([
      [255, 0, 0, 255],
      [0, 0, 0, 0],
    ]);
  });

  it('crops a source exported as the window when the edit touches less than half of it', async () => {
    const photo = patternRaster(300, 200);
    const window = { x: 10, y: 5, width: 280, height: 190 };
    const layers = await exportedLayers({
      source: { raster: cropOf(photo, window), ...window },
      exemplars: [{ raster: solidRaster(10, 10, [255, 0, 0, 255]), x: 120, y: 90 }],
    });
    layers.frame = { ...layers.frame, width: 300, height: 200, fullWidth: 300, fullHeight: 200, window, region: true };
    const prepared = await prepareUpload(layers, SHAPING, decodePng);
    expect(prepared.sent).toEqual({ x: 56, y: 26, width: 138, height: 138 });
    const source = await decodePng(prepared.upload.source);
    expect([source.width, source.height]).toEqual([138, 138]);
    expect(pixelAt(source, 0, 0)).toEqual(pixelAt(photo, 56, 26));
    expect(pixelAt(source, 137, 137)).toEqual(pixelAt(photo, 193, 163));
  });

  it('sends the whole frame, and no box, when the edit reaches everywhere', async () => {
    const layers = await exportedLayers({
      source: { raster: patternRaster(60, 40) },
      exemplars: [{ raster: solidRaster(60, 40, [255, 0, 0, 255]) }],
    });
    layers.frame = { ...layers.frame, region: true };
    const prepared = await prepareUpload(layers, SHAPING, decodePng);
    expect(prepared.sent).toEqual({ x: 0, y: 0, width: 60, height: 40 });
    expect(prepared.box).toBeUndefined();
    expect(prepared.upload.source).toBe(layers.source.png);
  });

  it("a map left to the server: the region holds its whole spread, so the server's map is the frame's, cropped", async () => {
    const exemplarRaster = discRaster(12, [255, 0, 0, 255]);
    const layers = await exportedLayers({
      source: { raster: patternRaster(300, 200) },
      exemplars: [{ raster: exemplarRaster, x: 120, y: 90 }],
    });
    layers.frame = { ...layers.frame, window: { x: 50, y: 40, width: 200, height: 150 }, region: true };
    const prepared = await prepareUpload(layers, SERVER_SHAPING, decodePng);
    expect(prepared.upload.map).toBeUndefined();
    const { sent } = prepared;
    const options = { grow: SERVER_SHAPING.grow, feather: SERVER_SHAPING.feather, falloff: SERVER_SHAPING.falloff };
    const fromCrop = shapeToMap(alphaOf(await decodePng(prepared.upload.exemplars[0])), options);
    const whole = shapeToMap(alphaOf(placeInFrame(exemplarRaster, 120, 90, 300, 200)), options);
    let largest = 0;
    let outside = 0;
    for (let y = 0; y < 200; y++) {
      for (let x = 0; x < 300; x++) {
        const inside = x >= sent.x && x < sent.x + sent.width && y >= sent.y && y < sent.y + sent.height;
        const value = whole.data[y * 300 + x];
        if (!inside) outside = Math.max(outside, value);
        else largest = Math.max(largest, Math.abs(value - fromCrop.data[(y - sent.y) * sent.width + x - sent.x]));
      }
    }
    expect(largest).toBe(0);
    expect(outside).toBe(0);
    // The spread (8 + 24 / 2 + 0.5 px) and 64 px of margin each side, inside the window.
    // (the disc covers pixels 121..130 and 91..100): x up to 130 + 21 + 64, y up to 100 + 21 + 64.
    expect(sent).toEqual({ x: 50, y: 40, width: 166, height: 146 });
  });
});
