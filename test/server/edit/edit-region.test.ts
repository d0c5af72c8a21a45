import {
  blendCropInto,
  defaultMargin,
  findEditRegion,
  PIXEL_SPACE_MARGIN,
  padRegion,
  pasteCropInto,
  planEditRegion,
  regionWarnings,
} from '@pixels/server/edit/edit-region.ts';
import { cropInputs, decodeInputs, prepareInputs } from '@pixels/server/edit/prepare-inputs.ts';
import { encodePng, type RawImage } from '@pixels/server/images/codec.ts';
import { cropRaw } from '@pixels/server/images/raw-rect.ts';
import { DEFAULT_LIMITS, EditSettings } from '@pixels/shared';
import { describe, expect, it } from 'vitest';
import { fixtureAt } from '../../helpers/images.ts';

/** A one-channel map of width x height, `value` inside the box [left, right) x [top, bottom), 0 elsewhere. */
function boxMap(width: number, height: number, box: [number, number, number, number], value = 255): RawImage {
  const data = new Uint8Array(width * height);
  const [left, top, right, bottom] = box;
  for (let y = top; y < bottom; y++) data.fill(value, y * width + left, y * width + right);
  return { data, width, height, channels: 1 };
}

/** An RGBA layer whose alpha is 255 inside the box, 0 elsewhere (or 255 everywhere when no box). */
function layer(width: number, height: number, box?: [number, number, number, number]): RawImage {
  const data = new Uint8Array(width * height * 4);
  const alpha = box ? boxMap(width, height, box).data : new Uint8Array(width * height).fill(255);
  for (let i = 0; i < width * height; i++) data[i * 4 + 3] = alpha[i];
  return { data, width, height, channels: 4 };
}

describe('findEditRegion', () => {
  it('is the bounding box of every map pixel above zero, however faint', () => {
    const map = boxMap(100, 80, [10, 20, 30, 25], 1);
    map.data[79 * 100 + 99] = 0; // the corner stays black
    expect(findEditRegion({ width: 100, height: 80, map, exemplars: [], shapeReach: 0 })).toEqual({
      left: 10,
      top: 20,
      width: 20,
      height: 5,
    });
  });

  it("unions the map with the exemplars' coverage, but not a full-frame opaque exemplar's", () => {
    const map = boxMap(100, 80, [10, 20, 30, 25]);
    const shaped = layer(100, 80, [60, 50, 70, 60]);
    expect(findEditRegion({ width: 100, height: 80, map, exemplars: [shaped, layer(100, 80)], shapeReach: 0 })).toEqual(
      { left: 10, top: 20, width: 60, height: 40 },
    );
  });

  it("reaches past the shapes by a shape-built map's grow and half feather, within the frame", () => {
    const shaped = layer(100, 80, [40, 30, 50, 40]);
    expect(findEditRegion({ width: 100, height: 80, exemplars: [shaped], shapeReach: 16 })).toEqual({
      left: 40 - 17,
      top: 30 - 17,
      width: 10 + 34,
      height: 10 + 34,
    });
    expect(findEditRegion({ width: 100, height: 80, exemplars: [shaped], shapeReach: 100 })).toEqual({
      left: 0,
      top: 0,
      width: 100,
      height: 80,
    });
  });

  it('is undefined when nothing is edited', () => {
    const map = boxMap(20, 20, [0, 0, 0, 0]);
    expect(findEditRegion({ width: 20, height: 20, map, exemplars: [layer(20, 20)], shapeReach: 0 })).toBeUndefined();
  });
});

const LATENT = { vaeScaleFactor: 8 };
const PIXEL_SPACE = { vaeScaleFactor: 1 };

describe('margins and crops', () => {
  it("pads by the pixel-space model's reach, whatever the region's size", () => {
    expect(defaultMargin({ width: 512, height: 100 }, PIXEL_SPACE)).toBe(PIXEL_SPACE_MARGIN);
    expect(defaultMargin({ width: 3000, height: 3000 }, PIXEL_SPACE)).toBe(PIXEL_SPACE_MARGIN);
    expect(PIXEL_SPACE_MARGIN).toBe(32);
  });

  it('pads by an eighth of the long side, at least 32 px, for a latent model, clipped to the frame', () => {
    expect(defaultMargin({ width: 512, height: 100 }, LATENT)).toBe(64);
    expect(defaultMargin({ width: 40, height: 40 }, LATENT)).toBe(32);
    const frame = { width: 1000, height: 600 };
    expect(padRegion({ left: 100, top: 10, width: 200, height: 50 }, frame, 32)).toEqual({
      left: 68,
      top: 0,
      width: 264,
      height: 92,
    });
    expect(padRegion({ left: 900, top: 500, width: 100, height: 100 }, frame, 64)).toEqual({
      left: 836,
      top: 436,
      width: 164,
      height: 164,
    });
  });

  it('crops and pastes back to the byte, touching nothing outside the crop', () => {
    const width = 37;
    const height = 23;
    const data = new Uint8Array(width * height * 4);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) % 251;
    const image: RawImage = { data, width, height, channels: 4 };
    const rect = { left: 5, top: 3, width: 11, height: 9 };
    const crop = cropRaw(image, rect);
    expect([crop.width, crop.height, crop.channels]).toEqual([11, 9, 4]);
    expect(Array.from(crop.data.subarray(0, 4))).toEqual(
      Array.from(data.subarray((3 * width + 5) * 4, (3 * width + 5) * 4 + 4)),
    );
    const target: RawImage = { ...image, data: new Uint8Array(data.length) };
    pasteCropInto(target, { ...crop, data: crop.data.map((value) => 255 - value) }, rect);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const inside = x >= 5 && x < 16 && y >= 3 && y < 12;
        const i = (y * width + x) * 4;
        expect(target.data[i]).toBe(inside ? 255 - data[i] : 0);
      }
    }
    expect(cropRaw(image, { left: 0, top: 0, width, height })).toBe(image);
  });

  it('blends an unpasted crop in across its margin: the frame at its edge, the crop inside the region', () => {
    const frame: RawImage = { data: new Uint8Array(100 * 100 * 4), width: 100, height: 100, channels: 4 };
    const crop: RawImage = { data: new Uint8Array(60 * 60 * 4).fill(200), width: 60, height: 60, channels: 4 };
    blendCropInto(
      frame,
      crop,
      { left: 20, top: 20, width: 60, height: 60 },
      { left: 40, top: 40, width: 20, height: 20 },
    );
    const red = (x: number, y: number) => frame.data[(y * 100 + x) * 4];
    expect(red(19, 50)).toBe(0); // outside the crop
    expect(red(20, 50)).toBeLessThan(10); // at its edge: almost all frame
    expect(red(30, 50)).toBeGreaterThan(90); // half way through the margin
    expect(red(30, 50)).toBeLessThan(110);
    expect(red(45, 50)).toBe(200); // inside the region: all crop
    for (let x = 20; x < 40; x++) expect(red(x + 1, 50)).toBeGreaterThanOrEqual(red(x, 50));
  });
});

describe('regionWarnings', () => {
  it('says so when the bare region is larger than the working size, and not otherwise', () => {
    const region = { left: 0, top: 0, width: 1500, height: 1000 };
    const crop = { left: 0, top: 0, width: 1700, height: 1200 };
    expect(regionWarnings(region, crop, { width: 608, height: 432 })).toEqual([
      "The edit region (1500x1000 px) is larger than the model's working size (608x432), so it is processed at 36% of its resolution; split the edit into smaller ones for full detail.",
    ]);
    expect(regionWarnings({ ...region, width: 500, height: 400 }, crop, { width: 608, height: 432 })).toEqual([]);
  });
});

describe('planEditRegion and cropInputs on decoded inputs', () => {
  it("crops around a given map in 'auto' and keeps the whole frame in 'full'", async () => {
    const settings = EditSettings.parse({});
    const inputs = {
      source: await fixtureAt('brick', 256),
      exemplars: [await fixtureAt('grass', 256)],
      map: await encodePng(boxMap(256, 256, [100, 120, 140, 160])), // white in one 40x40 square only
    };
    const decoded = await decodeInputs(settings, inputs, DEFAULT_LIMITS.maxPixels, DEFAULT_LIMITS.maxExemplars);
    expect(planEditRegion(decoded, settings, LATENT)).toEqual({
      region: { left: 100, top: 120, width: 40, height: 40 },
      crop: { left: 68, top: 88, width: 104, height: 104 },
    });
    expect(planEditRegion(decoded, { ...settings, regionMargin: 0 }, LATENT).crop).toEqual({
      left: 100,
      top: 120,
      width: 40,
      height: 40,
    });
    expect(planEditRegion(decoded, { ...settings, region: 'full' }, LATENT).crop).toEqual({
      left: 0,
      top: 0,
      width: 256,
      height: 256,
    });
  });

  it("builds a shape's map inside the crop exactly as over the whole frame", async () => {
    const settings = EditSettings.parse({ grow: 6, feather: 40 });
    const circle = (x: number, y: number) => ((x - 150) ** 2 + (y - 90) ** 2 < 30 ** 2 ? 1 : 0);
    const inputs = { source: await fixtureAt('brick', 256), exemplars: [await fixtureAt('grass', 256, 256, circle)] };
    const whole = await prepareInputs(settings, inputs, DEFAULT_LIMITS.maxPixels, DEFAULT_LIMITS.maxExemplars);
    const decoded = await decodeInputs(settings, inputs, DEFAULT_LIMITS.maxPixels, DEFAULT_LIMITS.maxExemplars);
    const { crop } = planEditRegion(decoded, { ...settings, regionMargin: 0 }, LATENT);
    const cropped = cropInputs(decoded, settings, crop);
    let largest = 0;
    let outsideCrop = 0;
    for (let y = 0; y < 256; y++) {
      for (let x = 0; x < 256; x++) {
        const full = whole.editMap.data[y * 256 + x];
        const isInside = x >= crop.left && x < crop.left + crop.width && y >= crop.top && y < crop.top + crop.height;
        if (!isInside) outsideCrop = Math.max(outsideCrop, full);
        else
          largest = Math.max(
            largest,
            Math.abs(full - cropped.editMap.data[(y - crop.top) * crop.width + (x - crop.left)]),
          );
      }
    }
    expect(outsideCrop).toBe(0); // the region holds every pixel the map touches
    expect(largest).toBeLessThan(1e-6);
    expect(cropped.source.width).toBe(crop.width);
  });
});
