import {
  distanceToShape,
  filledMap,
  type GrayMap,
  invertMap,
  resampleMap,
  shapeToMap,
  unionMaps,
} from '@pixels/shared';
import { describe, expect, it } from 'vitest';

function squareShape(size: number, from: number, to: number): GrayMap {
  const map = filledMap(size, size, 0);
  for (let y = from; y < to; y++) for (let x = from; x < to; x++) map.data[y * size + x] = 1;
  return map;
}

describe('distanceToShape', () => {
  it('is the exact Euclidean distance to the nearest shape pixel', () => {
    const size = 21;
    const map = filledMap(size, size, 0);
    map.data[10 * size + 10] = 1;
    const distance = distanceToShape(map, 0.5);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) expect(distance[y * size + x]).toBeCloseTo(Math.hypot(x - 10, y - 10), 5);
    }
  });

  it('is infinite everywhere for an empty shape', () => {
    expect(distanceToShape(filledMap(4, 3, 0), 0.5).every((d) => d === Number.POSITIVE_INFINITY)).toBe(true);
  });
});

describe('shapeToMap', () => {
  it('is 1 inside, 0 outside and a band centred on the grown edge', () => {
    const size = 64;
    // Shape: columns 24..39; its right edge lies between columns 39 and 40.
    const map = shapeToMap(squareShape(size, 24, 40), { grow: 4, feather: 8, falloff: 'linear' });
    const row = 32 * size;
    expect(map.data[row + 30]).toBe(1); // deep inside
    expect(map.data[row + 39]).toBe(1); // the edge moved 4 px out, the band starts at its half width
    expect(map.data[row + 40]).toBeCloseTo(0.9375, 6); // signed distance 0.5 - grow 4 = -3.5 → (4 + 3.5) / 8
    expect(map.data[row + 43]).toBeCloseTo(0.5625, 6); // signed 3.5 → beyond -0.5
    expect(map.data[row + 44]).toBeCloseTo(0.4375, 6); // just past the grown edge
    expect(map.data[row + 48]).toBe(0); // signed 8.5: beyond the band
    for (let x = 36; x < 52; x++) expect(map.data[row + x + 1]).toBeLessThanOrEqual(map.data[row + x]);
  });

  it('softens inward too: the band straddles the edge', () => {
    const size = 64;
    const map = shapeToMap(squareShape(size, 16, 48), { grow: 0, feather: 16, falloff: 'linear' });
    const row = 32 * size;
    expect(map.data[row + 47]).toBeCloseTo(0.53125, 6); // last inside pixel: half a pixel inside the edge
    expect(map.data[row + 48]).toBeCloseTo(0.46875, 6); // first outside pixel
    expect(map.data[row + 40]).toBeCloseTo(0.96875, 6); // 7.5 px inside: just within the band's inner half
    expect(map.data[row + 39]).toBe(1); // 8.5 px inside: past it
    expect(map.data[row + 56]).toBe(0);
  });

  it('with no feather is a hard edge at the grown shape, and handles empty and full shapes', () => {
    const map = shapeToMap(squareShape(16, 4, 8), { grow: 2, feather: 0 });
    const row = 6 * 16;
    expect(Array.from(map.data.slice(row, row + 12))).toEqual([0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0]);
    expect(shapeToMap(filledMap(4, 4, 0), { grow: 3, feather: 5 }).data.every((v) => v === 0)).toBe(true);
    expect(shapeToMap(filledMap(4, 4, 1), { grow: 0, feather: 5 }).data.every((v) => v === 1)).toBe(true);
  });
});

describe('map algebra', () => {
  it('inverts, unions and resamples by area', () => {
    const a = filledMap(4, 4, 0.25);
    expect(invertMap(a).data[0]).toBe(0.75);
    const b = filledMap(4, 4, 0);
    b.data[5] = 0.9;
    expect(unionMaps([a, b]).data[5]).toBeCloseTo(0.9, 6);
    expect(unionMaps([a, b]).data[0]).toBe(0.25);
    expect(() => unionMaps([a, filledMap(2, 2, 0)])).toThrow(/expected 4x4/);
    const checker = filledMap(4, 4, 0);
    checker.data[0] = 1;
    checker.data[1] = 1;
    checker.data[4] = 1;
    checker.data[5] = 1;
    const half = resampleMap(checker, 2, 2);
    expect(Array.from(half.data)).toEqual([1, 0, 0, 0]);
    expect(resampleMap(filledMap(3, 3, 0.5), 2, 2).data.every((v) => Math.abs(v - 0.5) < 1e-6)).toBe(true);
  });
});
