import { describe, expect, it } from 'vitest';
import { decodePng } from '../../../../plugin/src/png/png-decode.ts';
import { readPngSize } from '../../../../plugin/src/png/png-header.ts';
import { prepareUpload } from '../../../../plugin/src/ui/blend/prepare-upload.ts';
import { exportedLayers } from '../../support/exported-layers.ts';
import { patternRaster, pixelAt, solidRaster } from '../../support/test-images.ts';

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
    layers.frame = { ...layers.frame, width: 30, height: 20 };
    const prepared = await prepareUpload(layers, SHAPING, decodePng);
    const source = await decodePng(prepared.upload.source);
    expect([source.width, source.height]).toEqual([30, 20]);
    expect(pixelAt(source, 0, 0)).toEqual(pixelAt(patternRaster(34, 24), 2, 2));
  });
});
