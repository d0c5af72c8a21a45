import { createHeldSource } from '@pixels/server/engine/held-source.ts';
import { createNoise } from '@pixels/server/engine/noise.ts';
import { describe, expect, it } from 'vitest';

/** The loop the kernel replaces, in JavaScript: float64 products and sum, stored as float32. */
function mixInJs(z: Float32Array, S: Float32Array, n: Float32Array, first: number, end: number, a: number, b: number) {
  for (let i = first; i < end; i++) z[i] = a * S[i] + b * n[i];
}

describe('createHeldSource', () => {
  // Longer than the kernel's 16384-value scratch, and not a multiple of its four lanes.
  const values = 3 * 17_000 + 3;
  const S = createNoise(1)([1, 1, 1, values]).data;
  const n = createNoise(2)([1, 1, 1, values]).data;

  it('writes signal * S + noise * n_S with the same bits as the JavaScript loop, only in the range asked', () => {
    const held = createHeldSource(S, (into) => into.set(n));
    const scales = { signal: 0.8177, noise: 0.5756 };
    for (const [first, end] of [
      [0, values],
      [5, 6],
      [7, 7],
      [1, 16_390],
      [values - 9, values],
      [123, 40_001],
      // Lengths seen before (each length's view of the scratch is kept and reused).
      [10, 20],
      [30, 40],
      [values - 10, values],
    ]) {
      const z = new Float32Array(values).fill(-7);
      const expected = new Float32Array(values).fill(-7);
      held.writeInto(z, first, end, scales);
      mixInJs(expected, S, n, first, end, scales.signal, scales.noise);
      expect(Buffer.from(z.buffer).equals(Buffer.from(expected.buffer))).toBe(true);
    }
  });

  it('keeps its own copy of S, draws n_S into its own memory, and refuses a range or latent it does not cover', () => {
    const source = S.slice();
    const held = createHeldSource(source, (into) => createNoise(2)([1, 1, 1, values], into));
    source.fill(0);
    expect([...held.source.subarray(0, 4)]).toEqual([...S.subarray(0, 4)]);
    expect([...held.noise.subarray(0, 4)]).toEqual([...n.subarray(0, 4)]);
    const scales = { signal: 1, noise: 0 };
    expect(() => held.writeInto(new Float32Array(values), 0, values + 1, scales)).toThrow(/source has/);
    expect(() => held.writeInto(new Float32Array(values - 1), 0, 4, scales)).toThrow(/source has/);
  });
});
