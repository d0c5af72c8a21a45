import { distanceToShape, filledMap, type GrayMap, invertMap, resampleMap, shapeToMap, unionMaps } from '@pixels/shared';
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
  it('is 1 inside the grown shape, 0 beyond the feather, and falls monotonically between', () => {
    const size = 64;
    const map = shapeToMap(squareShape(size, 24, 40), { grow: 4, feather: 8, falloff: 'linear' });
    const row = 32 * size;
    expect(map.data[row + 30]).toBe(1); // inside
    expect(map.data[row + 43]).toBe(1); // 4 px out: grown
    expect(map.data[row + 47]).toBeCloseTo(0.5, 5); // 8 px out: half way through the feather
    expect(map.data[row + 52]).toBe(0); // 13 px out: beyond
    for (let x = 40; x < 52; x++) expect(map.data[row + x + 1]).toBeLessThanOrEqual(map.data[row + x]);
  });

  it('keeps partial alpha inside the shape and with no feather is a hard edge', () => {
    const alpha = filledMap(8, 8, 0);
    alpha.data[0] = 0.3;
    alpha.data[9] = 1;
    const map = shapeToMap(alpha, { grow: 0, feather: 0 });
    expect(map.data[0]).toBeCloseTo(0.3, 6); // outside the opaque shape, so its own alpha is kept
    expect(map.data[9]).toBe(1);
    expect(map.data[63]).toBe(0);
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
