import { float16ToFloat32, float32ToFloat16, fromFloat16Bits, toFloat16Bits } from '@pixels/server/onnx/float16.ts';
import { describe, expect, it } from 'vitest';

describe('float16 conversion', () => {
  it.each([
    [1, 0x3c00],
    [-2, 0xc000],
    [65504, 0x7bff], // the largest half
    [65519.99, 0x7bff], // below the midpoint to the next step: rounds down
    [65520, 0x7c00], // the midpoint rounds to even: Infinity
    [1 / 3, 0x3555],
    [2 ** -14, 0x0400], // the smallest normal
    [2 ** -24, 0x0001], // the smallest subnormal
    [2 ** -25, 0x0000], // a tie between 0 and 2^-24: to even (0)
    [3 * 2 ** -25, 0x0002], // a tie between 1 and 2 ulps: to even (2)
    [1 + 2 ** -11, 0x3c00], // a tie: to even
    [1 + 3 * 2 ** -11, 0x3c02], // a tie: to even (up)
    [-0, 0x8000],
    [Number.POSITIVE_INFINITY, 0x7c00],
  ])('%d → %i', (value, bits) => {
    expect(toFloat16Bits(value)).toBe(bits);
    expect(float32ToFloat16(Float32Array.of(value))[0]).toBe(bits);
  });

  it('NaN stays NaN', () => {
    expect(Number.isNaN(float16ToFloat32(float32ToFloat16(Float32Array.of(Number.NaN)))[0])).toBe(true);
  });

  it('every half value survives the round trip, and the table matches the formula', () => {
    const all = Uint16Array.from({ length: 65536 }, (_, bits) => bits);
    const floats = float16ToFloat32(all);
    for (let bits = 0; bits < 65536; bits++) {
      const value = fromFloat16Bits(bits);
      if (Number.isNaN(value)) expect(Number.isNaN(floats[bits])).toBe(true);
      else expect(floats[bits]).toBe(value);
    }
    const back = float32ToFloat16(floats);
    for (let bits = 0; bits < 65536; bits++) {
      if (!Number.isNaN(floats[bits])) expect(back[bits]).toBe(bits);
    }
  });
});
