import { createHash } from 'node:crypto';
import { createNoise, gaussianTensor, naturalLogOfUnit, philox4x32 } from '@pixels/server/engine/noise.ts';
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
    // (native 64-bit multiply, libm log), which is the platform-independence claim in practice.
    expect(Array.from(gaussianTensor(0, [6]).data)).toEqual([
      -0.2507587969303131, 0.945175290107727, 1.4838957786560059, 0.6640458106994629, 0.2443397492170334,
      -0.07135467976331711,
    ]);
    expect(Array.from(gaussianTensor(1, [3]).data)).toEqual([
      0.6663781404495239, 1.6422616243362427, 0.3681396245956421,
    ]);
    expect(Array.from(gaussianTensor(4294967295, [3]).data)).toEqual([
      1.532954216003418, -0.05012787505984306, 0.09708952158689499,
    ]);
    expect(fingerprint(gaussianTensor(0, [256]).data)).toBe(
      '31b17ef582b5bce2d5bd47d3ae19295149952856d32466f56aad355edd56f93f',
    );
    expect(fingerprint(gaussianTensor(0, [1, 4, 64, 64]).data)).toBe(
      '2f323bcd9fb221f439342b8c839961821270f4aa1ce43c93d3f1dc5e6c9ef3b7',
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
    for (const value of data) {
      sum += value;
      squares += value ** 2;
      cubes += value ** 3;
      fourths += value ** 4;
      if (Math.abs(value) < 1) withinOne++;
      if (Math.abs(value) > 3) beyondThree++;
    }
    const n = data.length;
    // Bounds are about 5 standard errors of each statistic at n = 1e6.
    expect(Math.abs(sum / n)).toBeLessThan(0.005);
    expect(Math.abs(Math.sqrt(squares / n) - 1)).toBeLessThan(0.004);
    expect(Math.abs(cubes / n)).toBeLessThan(0.02);
    expect(Math.abs(fourths / n - 3)).toBeLessThan(0.05);
    expect(Math.abs(withinOne / n - 0.682689)).toBeLessThan(0.0025);
    expect(Math.abs(beyondThree / n - 0.0026998)).toBeLessThan(0.00026);
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

  it('gives independent sources for the same seed', () => {
    const [one, two] = [createNoise(7), createNoise(7)];
    one([10]);
    expect(Array.from(two([4]).data)).toEqual(Array.from(gaussianTensor(7, [4]).data));
  });
});
