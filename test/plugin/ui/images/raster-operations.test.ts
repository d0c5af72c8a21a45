import { describe, expect, it } from 'vitest';
import { fitFigmaImageLimit } from '../../../../plugin/src/png/figma-image-limit.ts';
import { alphaOf, grayRasterOf, mapFromDrawnLayer } from '../../../../plugin/src/ui/images/layer-maps.ts';
import { overlayExemplars, overlayMap } from '../../../../plugin/src/ui/images/map-overlay.ts';
import { placeInFrame } from '../../../../plugin/src/ui/images/place-in-frame.ts';
import { shrinkRaster } from '../../../../plugin/src/ui/images/resize-raster.ts';
import { patternRaster, pixelAt, rasterFrom, solidRaster } from '../../support/test-images.ts';

describe('placeInFrame', () => {
  it('moves a layer to its rounded offset and leaves the rest transparent', () => {
    const layer = patternRaster(4, 3);
    const frame = placeInFrame(layer, 2.4, 1.6, 10, 8);
    expect(pixelAt(frame, 2, 2)).toEqual(pixelAt(layer, 0, 0));
    expect(pixelAt(frame, 5, 4)).toEqual(pixelAt(layer, 3, 2));
    expect(pixelAt(frame, 1, 2)).toEqual([0, 0, 0, 0]);
    expect(pixelAt(frame, 6, 4)).toEqual([0, 0, 0, 0]);
  });

  it('cuts off what lies outside the frame on every side', () => {
    const layer = patternRaster(6, 6);
    const frame = placeInFrame(layer, -2, -3, 3, 2);
    expect(pixelAt(frame, 0, 0)).toEqual(pixelAt(layer, 2, 3));
    expect(pixelAt(frame, 2, 1)).toEqual(pixelAt(layer, 4, 4));
    expect(placeInFrame(layer, 50, 0, 3, 2).data.every((value) => value === 0)).toBe(true);
  });
});

describe('layer maps', () => {
  it('reads coverage from alpha', () => {
    const layer = rasterFrom(2, 1, (x) => [9, 9, 9, x === 0 ? 255 : 51]);
    expect(Array.from(alphaOf(layer).data)).toEqual([1, Math.fround(0.2)]);
  });

  it('reads a drawn map as brightness times alpha, so uncovered parts keep the source', () => {
    const layer = rasterFrom(3, 1, (x) =>
      x === 0 ? [255, 255, 255, 255] : x === 1 ? [255, 255, 255, 128] : [0, 0, 0, 255],
    );
    const map = mapFromDrawnLayer(layer);
    expect(map.data[0]).toBeCloseTo(1, 5);
    expect(map.data[1]).toBeCloseTo(128 / 255, 5);
    expect(map.data[2]).toBe(0);
    expect(Array.from(grayRasterOf(map).data)).toEqual([255, 128, 0]);
  });
});

describe('shrinkRaster', () => {
  it('averages by area, weighting colour by alpha so transparent pixels do not darken edges', () => {
    const raster = rasterFrom(2, 2, (x, y) => (x === 0 && y === 0 ? [200, 100, 0, 255] : [0, 0, 0, 0]));
    expect(pixelAt(shrinkRaster(raster, 1, 1), 0, 0)).toEqual([200, 100, 0, 64]);
    const stripes = rasterFrom(6, 2, (x) => (x % 2 === 0 ? [0, 0, 0, 255] : [255, 255, 255, 255]));
    expect(pixelAt(shrinkRaster(stripes, 3, 1), 1, 0)).toEqual([128, 128, 128, 255]);
  });

  it('only shrinks', () => {
    expect(() => shrinkRaster(solidRaster(2, 2, [0, 0, 0, 255]), 3, 2)).toThrow(
      'shrinkRaster only shrinks: asked for 3x2 from 2x2.',
    );
  });
});

describe('fitFigmaImageLimit', () => {
  it('keeps images within 4096 px per side and shrinks larger ones keeping the aspect ratio', () => {
    expect(fitFigmaImageLimit(4096, 100)).toEqual({ width: 4096, height: 100, scale: 1 });
    expect(fitFigmaImageLimit(8192, 6000)).toEqual({ width: 4096, height: 3000, scale: 0.5 });
  });
});

describe('overlayMap', () => {
  it('tints what will change and leaves kept pixels as they are', () => {
    const source = solidRaster(2, 1, [100, 100, 100, 255]);
    const preview = overlayMap(source, { data: new Float32Array([0, 1]), width: 2, height: 1 });
    expect(pixelAt(preview, 0, 0)).toEqual([100, 100, 100, 255]);
    expect(pixelAt(preview, 1, 0)).toEqual([43, 134, 201, 255]);
    expect(() => overlayMap(source, { data: new Float32Array(1), width: 1, height: 1 })).toThrow(
      'overlayMap: the map is 1x1 but the source is 2x1.',
    );
  });
});

describe('overlayExemplars', () => {
  it('pastes the exemplars by their alpha, top one last, under a lighter tint of the map', () => {
    const source = solidRaster(3, 1, [100, 100, 100, 255]);
    const red = rasterFrom(3, 1, (x) => (x >= 1 ? [255, 0, 0, 255] : [0, 0, 0, 0]));
    const halfGreen = rasterFrom(3, 1, (x) => (x === 2 ? [0, 255, 0, 128] : [0, 0, 0, 0]));
    const none = { data: new Float32Array(3), width: 3, height: 1 };
    const pasted = overlayExemplars(source, [red, halfGreen], none);
    expect(pixelAt(pasted, 0, 0)).toEqual([100, 100, 100, 255]);
    expect(pixelAt(pasted, 1, 0)).toEqual([255, 0, 0, 255]);
    expect(pixelAt(pasted, 2, 0)).toEqual([127, 128, 0, 255]);
    // Where the map changes fully, the exemplar still shows through the tint.
    const full = { data: new Float32Array([1, 1, 1]), width: 3, height: 1 };
    const tinted = pixelAt(overlayExemplars(source, [red], full), 1, 0);
    expect(tinted[0]).toBeGreaterThan(150);
    expect(tinted[2]).toBeGreaterThan(50);
  });
});
