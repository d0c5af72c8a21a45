/**
 * Seeded standard normal noise that is bit-identical on every machine.
 *
 * Why it is platform independent: the uniform words come from Philox4x32-10 (Salmon et al.,
 * "Parallel random numbers: as easy as 1, 2, 3", SC'11), computed exactly: 32-bit integer
 * operations (Math.imul, xor) and, for the high word of each product, one correctly rounded
 * float64 product whose error is far below the rounding that recovers the word (multiplyHigh). Gaussians come from
 * Marsaglia's polar method, which needs a square root and a logarithm but no sin/cos; the square
 * root is correctly rounded by IEEE 754, and the logarithm is our own series below using only
 * +, -, *, / (each correctly rounded, and JavaScript never fuses them), so no libm enters. The
 * float64 result is rounded once to float32, again an IEEE operation.
 *
 * The stream for a seed: Philox keyed by (seed, 0) over counters (0, 0, 0, 0), (1, 0, 0, 0), ...;
 * each block's words (w0, w1) and (w2, w3) are one polar attempt each; an accepted attempt gives
 * two normals, in order. Successive draws continue the stream, so two draws of 3 and 5 values
 * equal one draw of 8.
 */
import type { NoiseSource } from './scheduler.ts';
import { elementCount, type Tensor } from './tensor.ts';

const PHILOX_M0 = 0xd2511f53;
const PHILOX_M1 = 0xcd9e8d57;
const PHILOX_W0 = 0x9e3779b9;
const PHILOX_W1 = 0xbb67ae85;
const PHILOX_ROUNDS = 10;

const TWO_TO_MINUS_32 = 2 ** -32;

/**
 * The high 32 bits of the 64-bit product of two uint32 values, given its exact low 32 bits. The
 * float64 product is within 2^12 of the exact one, so (product - low) / 2^32 lies within 2^-20 of
 * the exact high word and rounds to it.
 */
function multiplyHigh(a: number, b: number, low: number): number {
  return Math.round((a * b - low) * TWO_TO_MINUS_32);
}

/**
 * One Philox4x32-10 block (Random123's `philox4x32`) into `out`: 4 counter words and 2 key words,
 * uint32 in, kept as int32 inside (the same bits; V8 keeps int32 in registers). Plain locals and
 * no allocation: this runs once per 4 noise words.
 */
function philoxBlock(out: Uint32Array, c0: number, c1: number, c2: number, c3: number, k0: number, k1: number): void {
  for (let round = 0; round < PHILOX_ROUNDS; round++) {
    if (round > 0) {
      k0 = (k0 + PHILOX_W0) | 0;
      k1 = (k1 + PHILOX_W1) | 0;
    }
    const low0 = Math.imul(PHILOX_M0, c0);
    const low1 = Math.imul(PHILOX_M1, c2);
    const high0 = multiplyHigh(PHILOX_M0, c0 >>> 0, low0 >>> 0);
    const high1 = multiplyHigh(PHILOX_M1, c2 >>> 0, low1 >>> 0);
    c0 = high1 ^ c1 ^ k0;
    c1 = low1;
    c2 = high0 ^ c3 ^ k1;
    c3 = low0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

/** One Philox4x32-10 block: 4 counter words and 2 key words, all uint32, to 4 output words. */
export function philox4x32(counter: readonly number[], key: readonly number[]): [number, number, number, number] {
  const out = new Uint32Array(4);
  philoxBlock(out, counter[0] >>> 0, counter[1] >>> 0, counter[2] >>> 0, counter[3] >>> 0, key[0] >>> 0, key[1] >>> 0);
  return [out[0], out[1], out[2], out[3]];
}

/** 1 / (2k + 1), k = 0..12: the atanh series, enough for |f| <= 0.1716 to full double precision. */
// A typed array: a frozen plain array made this hot loop several times slower.
const ATANH_SERIES = Float64Array.from({ length: 13 }, (_, k) => 1 / (2 * k + 1));

/**
 * ln(s) for s in (0, 1] with basic arithmetic only (Math.LN2 and Math.SQRT1_2 are constants the
 * language fixes to the nearest double): s = m / 2^e with m in [1/sqrt 2, sqrt 2) by
 * exact doublings, then ln m = 2 atanh((m - 1) / (m + 1)) by its series. Accurate to ~1 ulp.
 */
export function naturalLogOfUnit(s: number): number {
  let mantissa = s;
  let exponent = 0;
  while (mantissa < Math.SQRT1_2) {
    mantissa *= 2;
    exponent++;
  }
  const f = (mantissa - 1) / (mantissa + 1);
  const f2 = f * f;
  let series = 0;
  for (let k = ATANH_SERIES.length - 1; k >= 0; k--) series = series * f2 + ATANH_SERIES[k];
  return 2 * f * series - exponent * Math.LN2;
}

const TWO_TO_MINUS_31 = 2 ** -31;

/** A uint32 word mapped to (-1, 1), never 0 or ±1; exact in float64 (the scaling is by a power of two). */
function toSignedUnit(word: number): number {
  return (word - 2147483647.5) * TWO_TO_MINUS_31;
}

/** The normal stream of one seed. */
class GaussianStream {
  private block = 0;
  private readonly words = new Uint32Array(4);
  /** Attempts take two words, so this is 0, 2 or 4 (block used up). */
  private wordIndex = 4;
  private spare: number | null = null;

  constructor(private readonly seed: number) {}

  /** Fills `out` with the next normals of the stream (polar method: each accepted pair gives two). */
  fill(out: Float32Array): void {
    const { words, seed } = this;
    let i = 0;
    if (this.spare !== null && out.length > 0) {
      out[i++] = this.spare;
      this.spare = null;
    }
    // The hot loop keeps the stream's state in locals and writes it back at the end.
    let block = this.block;
    let wordIndex = this.wordIndex;
    while (i < out.length) {
      if (wordIndex === 4) {
        // A 2^53 block limit (Number precision) is far beyond any latent we will draw.
        philoxBlock(words, block % 0x100000000, Math.floor(block / 0x100000000), 0, 0, seed, 0);
        block++;
        wordIndex = 0;
      }
      const u = toSignedUnit(words[wordIndex]);
      const v = toSignedUnit(words[wordIndex + 1]);
      wordIndex += 2;
      const s = u * u + v * v;
      if (s >= 1) continue;
      const factor = Math.sqrt((-2 * naturalLogOfUnit(s)) / s);
      out[i++] = u * factor;
      if (i < out.length) out[i++] = v * factor;
      else this.spare = v * factor;
    }
    this.block = block;
    this.wordIndex = wordIndex;
  }
}

function checkSeed(seed: number): void {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new RangeError(`noise: seed must be an integer in [0, 4294967295], got ${seed}`);
  }
}

function checkShape(shape: readonly number[]): void {
  if (!shape.every((size) => Number.isInteger(size) && size >= 0)) {
    throw new RangeError(`noise: shape must list non-negative integers, got [${shape.join(', ')}]`);
  }
}

/**
 * A seeded source of standard normal tensors; successive calls continue one stream.
 * @param seed an integer in [0, 2^32 - 1]
 */
export function createNoise(seed: number): NoiseSource {
  checkSeed(seed);
  const stream = new GaussianStream(seed);
  return (shape) => {
    checkShape(shape);
    const data = new Float32Array(elementCount(shape));
    stream.fill(data);
    return { data, shape: [...shape] };
  };
}

/** The first tensor of `seed`'s stream: createNoise(seed)(shape). */
export function gaussianTensor(seed: number, shape: readonly number[]): Tensor {
  return createNoise(seed)(shape);
}
