/** IEEE 754 binary16 conversion (Node 20 has no Float16Array), round to nearest even. */

const scratchFloat = new Float32Array(1);
const scratchBits = new Uint32Array(scratchFloat.buffer);

/** The float16 bit pattern nearest to `value`; overflow gives ±Infinity, NaN stays NaN. */
export function float32ToFloat16Bits(value: number): number {
  scratchFloat[0] = value;
  const bits = scratchBits[0];
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  let mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa === 0 ? 0 : 0x200);
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00;
  if (halfExponent <= 0) {
    if (halfExponent < -10) return sign;
    // Subnormal half: the implicit leading bit becomes explicit and shifts into the mantissa.
    mantissa |= 0x800000;
    const shift = 14 - halfExponent;
    return sign | roundShifted(mantissa, shift);
  }
  // A mantissa carry rounds into the exponent, which is exactly right (up to Infinity).
  return sign | ((halfExponent << 10) + roundShifted(mantissa, 13));
}

/** The float32 value of a float16 bit pattern (exact). */
export function float16BitsToFloat32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

export function toFloat16Bits(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let index = 0; index < values.length; index++) out[index] = float32ToFloat16Bits(values[index]);
  return out;
}

export function fromFloat16Bits(bits: ArrayLike<number>): Float32Array {
  const out = new Float32Array(bits.length);
  for (let index = 0; index < bits.length; index++) out[index] = float16BitsToFloat32(bits[index]);
  return out;
}

function roundShifted(mantissa: number, shift: number): number {
  const kept = mantissa >>> shift;
  const remainder = mantissa & ((1 << shift) - 1);
  const halfway = 1 << (shift - 1);
  return remainder > halfway || (remainder === halfway && (kept & 1) === 1) ? kept + 1 : kept;
}
