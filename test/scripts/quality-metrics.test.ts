import { describe, expect, it } from 'vitest';
import {
  alphaBlend,
  bandDifference,
  doubleExposure,
  effectiveWeights,
  hardPaste,
  keepMaxDifference,
  type Map01,
  type Rgb,
  textureRatios,
  weightError,
  whiteMeanDifference,
} from '../../scripts/quality/metrics.ts';

const SIZE = 64;

function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** Grey noise texture around `mean`. */
function texture(seed: number, mean: number, amplitude: number): Rgb {
  const next = random(seed);
  const data = new Uint8Array(SIZE * SIZE * 3);
  for (let p = 0; p < SIZE * SIZE; p++) data.fill(Math.round(mean + amplitude * (next() - 0.5)), p * 3, p * 3 + 3);
  return { data, width: SIZE, height: SIZE };
}

/** Black for x < 16, a ramp to white at x = 48. */
function ramp(): Map01 {
  const data = new Float32Array(SIZE * SIZE);
  for (let p = 0; p < data.length; p++) data[p] = Math.min(1, Math.max(0, ((p % SIZE) - 16) / 32));
  return { data, width: SIZE, height: SIZE };
}

const source = texture(1, 70, 60);
const exemplar = texture(2, 180, 60);
const map = ramp();

describe('blend metrics', () => {
  it('finds the map itself as the effective weight of an alpha blend, and a step for a hard paste', () => {
    const alpha = effectiveWeights(alphaBlend(source, exemplar, map), source, exemplar, map);
    expect(alpha).toHaveLength(10);
    for (const figure of alpha) expect(Math.abs(figure.weight - figure.level)).toBeLessThan(0.01);
    expect(weightError(alpha)).toBeLessThan(0.01);
    const hard = effectiveWeights(hardPaste(source, exemplar, map), source, exemplar, map);
    expect(hard[0].weight).toBe(0);
    expect(hard[9].weight).toBe(1);
    expect(weightError(hard)).toBeGreaterThan(0.4);
  });

  it('scores an alpha blend of two textures as a double exposure and a region switch as none', () => {
    expect(doubleExposure(alphaBlend(source, exemplar, map), source, exemplar, map)).toBeGreaterThan(0.4);
    // Two coherent regions, each wholly one image: the top half the source, the bottom the exemplar.
    const data = new Uint8Array(source.data.length);
    for (let p = 0; p < SIZE * SIZE; p++) {
      const from = p >= (SIZE * SIZE) / 2 ? exemplar : source;
      data.set(from.data.subarray(p * 3, p * 3 + 3), p * 3);
    }
    const switched = { data, width: SIZE, height: SIZE };
    expect(doubleExposure(switched, source, exemplar, map)).toBeLessThan(0.2);
    expect(doubleExposure(source, source, exemplar, map)).toBeLessThan(0.01);
  });

  it('measures texture: the source keeps it, a flat grey has none, an alpha blend of noise washes out', () => {
    const flat = { data: new Uint8Array(source.data.length).fill(128), width: SIZE, height: SIZE };
    const twin = texture(1, 180, 60); // the exemplar's energy at the source's pattern
    expect(textureRatios(twin, twin, exemplar, map).ratio).toBeCloseTo(1, 1);
    expect(textureRatios(flat, source, exemplar, map).peak).toBe(0);
    const alpha = textureRatios(alphaBlend(source, exemplar, map), source, exemplar, map);
    expect(alpha.low).toBeLessThan(0.8); // two unrelated noises averaged lose energy mid-band
    expect(alpha.perTenth).toHaveLength(10);
  });

  it('reports the keep region to the level and the white region as a mean', () => {
    const result = new Uint8Array(alphaBlend(source, exemplar, map).data);
    result[5 * 3] += 3; // x = 5: where the map is black
    const image = { data: result, width: SIZE, height: SIZE };
    expect(keepMaxDifference(image, source, map)).toBe(3);
    expect(whiteMeanDifference(image, exemplar, map)).toBe(0);
    expect(whiteMeanDifference(source, exemplar, map)).toBeGreaterThan(100);
    expect(bandDifference(source, source, map)).toBe(0);
    expect(bandDifference(source, exemplar, map)).toBeGreaterThan(100);
  });
});
