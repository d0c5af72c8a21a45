import { createHash } from 'node:crypto';
import {
  createNoise,
  exponentialOfNonPositive,
  gaussianTensor,
  naturalLogOfUnit,
  philox4x32,
  philoxBlocks,
} from '@pixels/server/engine/noise.ts';
import { describe, expect, it } from 'vitest';

/** sha256 of the values as little-endian float32 bytes, whatever this machine's byte order. */
function fingerprint(values: Float32Array): string {
  const bytes = Buffer.alloc(values.length * 4);
  for (let i = 0; i < values.length; i++) bytes.writeFloatLE(values[i], i * 4);
  return createHash('sha256').update(bytes).digest('hex');
}

const words = (text: string) => text.split(' ').map((hex) => Number.parseInt(hex, 16));

describe('createNoise: invalid input', () => {
  it('accepts seeds 0..2^32-1 only', () => {
    for (const seed of [-1, 2 ** 32, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => createNoise(seed)).toThrow(`noise: seed must be an integer in [0, 4294967295], got ${seed}`);
    }
    expect(() => gaussianTensor(-1, [1])).toThrow(RangeError);
    for (const seed of [0, 1, 2 ** 31, 2 ** 32 - 1]) expect(gaussianTensor(seed, [2]).data).toHaveLength(2);
  });

  it('rejects shapes that are not lists of non-negative integers', () => {
    expect(() => gaussianTensor(0, [2, -1])).toThrow('noise: shape must list non-negative integers, got [2, -1]');
    expect(() => gaussianTensor(0, [1.5])).toThrow('noise: shape must list non-negative integers, got [1.5]');
    expect(gaussianTensor(0, [0, 4]).data).toHaveLength(0);
  });

  it("draws into a given array of the shape's size, continuing the same stream, and refuses one of another size", () => {
    const noise = createNoise(9);
    const into = new Float32Array(6);
    expect(noise([2, 3], into).data).toBe(into);
    const next = noise([1, 4]).data;
    expect([...into, ...next]).toEqual([...gaussianTensor(9, [10]).data]);
    expect(() => noise([2, 3], new Float32Array(5))).toThrow('noise: into holds 5 values, the shape [2, 3] 6');
  });
});

describe('Philox4x32-10', () => {
  it('matches the Random123 known-answer vectors (tests/kat_vectors)', () => {
    expect(philox4x32([0, 0, 0, 0], [0, 0])).toEqual(words('6627e8d5 e169c58d bc57ac4c 9b00dbd8'));
    expect(philox4x32(words('ffffffff ffffffff ffffffff ffffffff'), words('ffffffff ffffffff'))).toEqual(
      words('408f276d 41c83b0e a20bc7c6 6d5451fd'),
    );
    expect(philox4x32(words('243f6a88 85a308d3 13198a2e 03707344'), words('a4093822 299f31d0'))).toEqual(
      words('d16cfe09 94fdcceb 5001e420 24126ea1'),
    );
  });

  it('refuses a batch that is not whole blocks or is larger than the kernel holds', () => {
    expect(() => philoxBlocks(new Int32Array(6), 0, 1)).toThrow(RangeError);
    expect(() => philoxBlocks(new Int32Array(4100), 0, 1)).toThrow('at most 4096 words');
  });

  it('makes the same blocks in the WebAssembly kernel as one at a time in JavaScript, across the 2^32 counter boundary', () => {
    const first = 2 ** 32 - 510;
    const seed = 0x9e3779b9;
    const batch = new Int32Array(4096);
    philoxBlocks(batch, first, seed);
    for (const block of [0, 1, 2, 3, 5, 509, 510, 511, 1023]) {
      const counter = first + block;
      const expected = philox4x32([counter % 2 ** 32, Math.floor(counter / 2 ** 32), 0, 0], [seed, 0]);
      expect(
        [...batch.subarray(block * 4, block * 4 + 4)].map((word) => word >>> 0),
        `block ${block}`,
      ).toEqual(expected);
    }
  });
});

describe('naturalLogOfUnit', () => {
  it('agrees with Math.log to about an ulp over (0, 1]', () => {
    expect(naturalLogOfUnit(1)).toBe(0);
    expect(naturalLogOfUnit(0.5)).toBe(-Math.LN2);
    let worst = 0;
    for (let i = 1; i <= 100_000; i++) {
      const s = (i / 100_000) ** 3;
      worst = Math.max(worst, Math.abs(naturalLogOfUnit(s) - Math.log(s)) / Math.abs(Math.log(s) || 1));
    }
    expect(worst).toBeLessThan(1e-15);
    expect(naturalLogOfUnit(2 ** -60)).toBeCloseTo(-60 * Math.LN2, 12);
  });
});

describe('exponentialOfNonPositive', () => {
  it('agrees with Math.exp to a few ulp over [-10, 0] (the ziggurat needs [-6, 0])', () => {
    expect(exponentialOfNonPositive(0)).toBe(1);
    let worst = 0;
    for (let i = 0; i <= 100_000; i++) {
      const t = -10 * (i / 100_000) ** 2;
      worst = Math.max(worst, Math.abs(exponentialOfNonPositive(t) - Math.exp(t)) / Math.exp(t));
    }
    expect(worst).toBeLessThan(1e-15);
  });
});

describe('gaussianTensor', () => {
  it('is deterministic and shaped as asked', () => {
    const first = gaussianTensor(1234, [1, 4, 8, 8]);
    const second = gaussianTensor(1234, [1, 4, 8, 8]);
    expect(first.shape).toEqual([1, 4, 8, 8]);
    expect(first.data).toHaveLength(256);
    expect(Buffer.from(first.data.buffer).equals(Buffer.from(second.data.buffer))).toBe(true);
  });

  it('pins the stream: first values and byte hashes', () => {
    // Reproduced bit for bit by an independent Python version of the documented algorithm
    // (native 64-bit multiply, libm exp and log for the ziggurat), which is the platform-independence claim in practice.
    expect(Array.from(gaussianTensor(0, [6]).data)).toEqual([
      1.465829610824585, -0.18023066222667694, -0.8990188241004944, -1.4873074293136597, -0.06389926373958588,
      1.4014874696731567,
    ]);
    expect(Array.from(gaussianTensor(1, [3]).data)).toEqual([
      -0.5257539749145508, -0.3115188479423523, -1.2702370882034302,
    ]);
    expect(Array.from(gaussianTensor(4294967295, [3]).data)).toEqual([
      -0.15892331302165985, -0.04227009043097496, -0.5681276917457581,
    ]);
    expect(fingerprint(gaussianTensor(0, [256]).data)).toBe(
      'e11c202ae091f0f3d9cb3a67fc5b892f19662e52a294bb62367721d2a30efd7f',
    );
    expect(fingerprint(gaussianTensor(0, [1, 4, 64, 64]).data)).toBe(
      '6f301cc5e3af50f884e695ecd8776a43d9943ecbdc5193029142827f6f42583a',
    );
  });

  it('differs between seeds', () => {
    const draws = [0, 1, 2, 2 ** 31, 2 ** 32 - 1].map((seed) => fingerprint(gaussianTensor(seed, [64]).data));
    expect(new Set(draws).size).toBe(draws.length);
    const [a, b] = [gaussianTensor(5, [1000]).data, gaussianTensor(6, [1000]).data];
    expect(a.filter((value, i) => value === b[i])).toHaveLength(0);
  });

  it('is standard normal over a million samples', () => {
    const { data } = gaussianTensor(42, [1_000_000]);
    let sum = 0;
    let squares = 0;
    let cubes = 0;
    let fourths = 0;
    let withinOne = 0;
    let beyondThree = 0;
    let beyondThreeAndAHalf = 0;
    for (const value of data) {
      sum += value;
      squares += value ** 2;
      cubes += value ** 3;
      fourths += value ** 4;
      if (Math.abs(value) < 1) withinOne++;
      if (Math.abs(value) > 3) beyondThree++;
      if (Math.abs(value) > 3.5) beyondThreeAndAHalf++;
    }
    const n = data.length;
    // Bounds are about 5 standard errors of each statistic at n = 1e6.
    expect(Math.abs(sum / n)).toBeLessThan(0.005);
    expect(Math.abs(Math.sqrt(squares / n) - 1)).toBeLessThan(0.004);
    expect(Math.abs(cubes / n)).toBeLessThan(0.02);
    expect(Math.abs(fourths / n - 3)).toBeLessThan(0.05);
    expect(Math.abs(withinOne / n - 0.682689)).toBeLessThan(0.0025);
    expect(Math.abs(beyondThree / n - 0.0026998)).toBeLessThan(0.00026);
    // The ziggurat's tail beyond R = 3.44 has its own code path: P(|x| > 3.5) = 4.65e-4.
    expect(Math.abs(beyondThreeAndAHalf / n - 4.6525e-4)).toBeLessThan(0.00011);
  });
});

describe('createNoise', () => {
  it('continues one stream across draws', () => {
    const noise = createNoise(99);
    const first = noise([3]);
    const second = noise([1, 5]);
    expect(second.shape).toEqual([1, 5]);
    expect([...first.data, ...second.data]).toEqual(Array.from(gaussianTensor(99, [8]).data));
  });

  it('keeps each stream its own when streams in one thread draw in turn, across refills and chunks', () => {
    // 4096 buffered words per refill and 16384 normals per kernel chunk: these sizes cross both.
    const sizes = [5000, 3, 20_000, 4095, 1];
    const alone = (seed: number) => {
      const noise = createNoise(seed);
      return sizes.map((size) => fingerprint(noise([size]).data));
    };
    const [expectedA, expectedB] = [alone(11), alone(12)];
    const [a, b] = [createNoise(11), createNoise(12)];
    sizes.forEach((size, draw) => {
      expect(fingerprint(a([size]).data), `seed 11, draw ${draw}`).toBe(expectedA[draw]);
      expect(fingerprint(b([size]).data), `seed 12, draw ${draw}`).toBe(expectedB[draw]);
    });
    const total = sizes.reduce((sum, size) => sum + size, 0);
    const joined = new Float32Array(total);
    const again = createNoise(11);
    let at = 0;
    for (const size of sizes) {
      joined.set(again([size]).data, at);
      at += size;
    }
    expect(fingerprint(joined)).toBe(fingerprint(gaussianTensor(11, [total]).data));
  });

  it('gives independent sources for the same seed', () => {
    const [one, two] = [createNoise(7), createNoise(7)];
    one([10]);
    expect(Array.from(two([4]).data)).toEqual(Array.from(gaussianTensor(7, [4]).data));
  });
});
