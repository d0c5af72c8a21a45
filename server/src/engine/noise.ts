/**
 * Seeded standard normal noise that is bit-identical on every machine.
 *
 * Why it is platform independent: the uniform words come from Philox4x32-10 (Salmon et al.,
 * "Parallel random numbers: as easy as 1, 2, 3", SC'11), computed exactly: 32-bit integer
 * operations (Math.imul, xor) and, for the high word of each product, one correctly rounded
 * float64 product whose error is far below the rounding that recovers the word (multiplyHigh).
 * Gaussians come from the ziggurat method (Marsaglia and Tsang, "The ziggurat method for
 * generating random variables", J. Stat. Softw. 2000, 128 layers), with the layer and the value
 * taken from disjoint bits of the word as Doornik ("An improved ziggurat method", 2005) advises.
 * Its tables, and the rare edge and tail draws, need exp and log: ours below use only +, -, *, /
 * (each correctly rounded, and JavaScript never fuses them) and the correctly rounded square root,
 * so no libm enters. The float64 result is rounded once to float32, again an IEEE operation.
 *
 * The stream for a seed: Philox keyed by (seed, 0) over counters (0, 0, 0, 0), (1, 0, 0, 0), ...,
 * read word by word (w0, w1, w2, w3 of each block). Each normal takes one word; about 1 in 80 falls
 * outside its layer's box and takes more words (ziggurat). Successive draws continue the stream,
 * so two draws of 3 and 5 values equal one draw of 8.
 *
 * Why the ziggurat rather than Marsaglia's polar method (the stream before): one word per normal
 * instead of 1.27, and almost never a logarithm, which made a 512² RGB latent's draw about
 * twice as fast (each PIXELS pass draws one per image).
 */
import type { NoiseSource } from './scheduler.ts';
import { elementCount, type Tensor } from './tensor.ts';

const PHILOX_M0 = 0xd2511f53;
const PHILOX_M1 = 0xcd9e8d57;
const PHILOX_W0 = 0x9e3779b9 | 0;
const PHILOX_W1 = 0xbb67ae85 | 0;
const PHILOX_ROUNDS = 10;

const TWO_TO_MINUS_32 = 2 ** -32;

/**
 * The high 32 bits of the 64-bit product of two uint32 values, as int32 bits, given its exact low
 * 32 bits. The float64 product is within 2^12 of the exact one, so (product - low) / 2^32 lies
 * within 2^-20 of the exact high word; adding 1/2 and truncating (`| 0`, which also wraps it to
 * int32 as the xor after it would) gives that word.
 */
function multiplyHigh(a: number, b: number, low: number): number {
  return ((a * b - low) * TWO_TO_MINUS_32 + 0.5) | 0;
}

/**
 * One Philox4x32-10 block (Random123's `philox4x32`) into `out`: 4 counter words and 2 key words
 * in, kept as int32 (the same bits as the uint32 words; V8 keeps int32 in registers, where mixed
 * uint32 values would be doubles). Plain locals and no allocation: this runs once per 4 words.
 */
function philoxBlock(out: Int32Array, c0: number, c1: number, c2: number, c3: number, k0: number, k1: number): void {
  c0 |= 0;
  c1 |= 0;
  c2 |= 0;
  c3 |= 0;
  k0 |= 0;
  k1 |= 0;
  for (let round = 0; round < PHILOX_ROUNDS; round++) {
    const low0 = Math.imul(PHILOX_M0, c0);
    const low1 = Math.imul(PHILOX_M1, c2);
    const high0 = multiplyHigh(PHILOX_M0, c0 >>> 0, low0 >>> 0);
    const high1 = multiplyHigh(PHILOX_M1, c2 >>> 0, low1 >>> 0);
    c0 = high1 ^ c1 ^ k0;
    c1 = low1;
    c2 = high0 ^ c3 ^ k1;
    c3 = low0;
    // The key schedule for the next round (the last round's bump is unused).
    k0 = (k0 + PHILOX_W0) | 0;
    k1 = (k1 + PHILOX_W1) | 0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

/** One Philox4x32-10 block: 4 counter words and 2 key words, all uint32, to 4 output words. */
export function philox4x32(counter: readonly number[], key: readonly number[]): [number, number, number, number] {
  const out = new Int32Array(4);
  philoxBlock(out, counter[0], counter[1], counter[2], counter[3], key[0], key[1]);
  return [out[0] >>> 0, out[1] >>> 0, out[2] >>> 0, out[3] >>> 0];
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

/** 1 / n!, n = 0..16: the exponential series, enough for |r| <= ln(2) / 2 to full double precision. */
const EXP_SERIES = (() => {
  const terms = new Float64Array(17);
  terms[0] = 1;
  for (let n = 1; n < terms.length; n++) terms[n] = terms[n - 1] / n;
  return terms;
})();

/**
 * e^t for t <= 0 with basic arithmetic only, as naturalLogOfUnit: t = r - k ln 2 with
 * |r| <= ln(2) / 2 (Math.round is exact), e^r by its series, then k exact halvings. Accurate to
 * a few ulp for t >= -10 (the ziggurat needs t >= -R^2 / 2, about -5.9); further out the rounding
 * of k ln 2 grows with k.
 */
export function exponentialOfNonPositive(t: number): number {
  const halvings = Math.round(-t / Math.LN2);
  const r = t + halvings * Math.LN2;
  let value = 0;
  for (let n = EXP_SERIES.length - 1; n >= 0; n--) value = value * r + EXP_SERIES[n];
  for (let k = 0; k < halvings; k++) value *= 0.5;
  return value;
}

/**
 * The ziggurat for the standard normal (Marsaglia and Tsang's `zigset`, 128 layers): layer 0 is
 * the base with the tail beyond R, layer 127 the one just above it, layer 1 the top. A word's
 * signed 25-bit value v and 7-bit layer i give x = v * width[i]; it lies inside the density where
 * |v| < inner[i] (about 99% of words), otherwise the edge or tail step decides.
 */
const ZIGGURAT_LAYERS = 128;
/** Right edge of the base layer, and each layer's area, for 128 layers (Marsaglia and Tsang). */
const ZIGGURAT_R = 3.442619855899;
const ZIGGURAT_AREA = 9.91256303526217e-3;
/** Values are signed 25-bit: |v| < 2^24. */
const VALUE_SCALE = 2 ** 24;

function halfGaussian(x: number): number {
  return exponentialOfNonPositive(-0.5 * x * x);
}

const ZIGGURAT = (() => {
  const inner = new Float64Array(ZIGGURAT_LAYERS);
  const width = new Float64Array(ZIGGURAT_LAYERS);
  const density = new Float64Array(ZIGGURAT_LAYERS);
  let edge = ZIGGURAT_R;
  let below = edge;
  const baseWidth = ZIGGURAT_AREA / halfGaussian(edge);
  inner[0] = (edge / baseWidth) * VALUE_SCALE;
  inner[1] = 0;
  width[0] = baseWidth / VALUE_SCALE;
  width[ZIGGURAT_LAYERS - 1] = edge / VALUE_SCALE;
  density[0] = 1;
  density[ZIGGURAT_LAYERS - 1] = halfGaussian(edge);
  for (let layer = ZIGGURAT_LAYERS - 2; layer >= 1; layer--) {
    edge = Math.sqrt(-2 * naturalLogOfUnit(ZIGGURAT_AREA / edge + halfGaussian(edge)));
    inner[layer + 1] = (edge / below) * VALUE_SCALE;
    below = edge;
    density[layer] = halfGaussian(edge);
    width[layer] = edge / VALUE_SCALE;
  }
  return { inner, width, density };
})();

/** Blocks made at once: four side by side in the rounds, so the CPU overlaps their multiplies. */
const INTERLEAVED_BLOCKS = 4;

/**
 * Philox blocks first, first + 1, ... of key (seed, 0) into `out`, out.length / 4 of them (a
 * multiple of four), as philoxBlock would make them one at a time. The rounds of four blocks are
 * written out side by side: each round waits on its float multiplies, and one block alone left the
 * CPU idle in between (four together made a 512² RGB latent's draw about 35% faster).
 */
export function philoxBlocks(out: Int32Array, first: number, seed: number): void {
  for (let at = 0; at < out.length; at += 4 * INTERLEAVED_BLOCKS) {
    const block = first + at / 4;
    let a0 = (block % 0x100000000) | 0;
    let a1 = Math.floor(block / 0x100000000) | 0;
    let b0 = ((block + 1) % 0x100000000) | 0;
    let b1 = Math.floor((block + 1) / 0x100000000) | 0;
    let c0 = ((block + 2) % 0x100000000) | 0;
    let c1 = Math.floor((block + 2) / 0x100000000) | 0;
    let d0 = ((block + 3) % 0x100000000) | 0;
    let d1 = Math.floor((block + 3) / 0x100000000) | 0;
    let a2 = 0;
    let a3 = 0;
    let b2 = 0;
    let b3 = 0;
    let c2 = 0;
    let c3 = 0;
    let d2 = 0;
    let d3 = 0;
    let k0 = seed | 0;
    let k1 = 0;
    for (let round = 0; round < PHILOX_ROUNDS; round++) {
      const lowA0 = Math.imul(PHILOX_M0, a0);
      const lowA1 = Math.imul(PHILOX_M1, a2);
      const lowB0 = Math.imul(PHILOX_M0, b0);
      const lowB1 = Math.imul(PHILOX_M1, b2);
      const lowC0 = Math.imul(PHILOX_M0, c0);
      const lowC1 = Math.imul(PHILOX_M1, c2);
      const lowD0 = Math.imul(PHILOX_M0, d0);
      const lowD1 = Math.imul(PHILOX_M1, d2);
      const highA0 = multiplyHigh(PHILOX_M0, a0 >>> 0, lowA0 >>> 0);
      const highA1 = multiplyHigh(PHILOX_M1, a2 >>> 0, lowA1 >>> 0);
      const highB0 = multiplyHigh(PHILOX_M0, b0 >>> 0, lowB0 >>> 0);
      const highB1 = multiplyHigh(PHILOX_M1, b2 >>> 0, lowB1 >>> 0);
      const highC0 = multiplyHigh(PHILOX_M0, c0 >>> 0, lowC0 >>> 0);
      const highC1 = multiplyHigh(PHILOX_M1, c2 >>> 0, lowC1 >>> 0);
      const highD0 = multiplyHigh(PHILOX_M0, d0 >>> 0, lowD0 >>> 0);
      const highD1 = multiplyHigh(PHILOX_M1, d2 >>> 0, lowD1 >>> 0);
      a0 = highA1 ^ a1 ^ k0;
      a1 = lowA1;
      a2 = highA0 ^ a3 ^ k1;
      a3 = lowA0;
      b0 = highB1 ^ b1 ^ k0;
      b1 = lowB1;
      b2 = highB0 ^ b3 ^ k1;
      b3 = lowB0;
      c0 = highC1 ^ c1 ^ k0;
      c1 = lowC1;
      c2 = highC0 ^ c3 ^ k1;
      c3 = lowC0;
      d0 = highD1 ^ d1 ^ k0;
      d1 = lowD1;
      d2 = highD0 ^ d3 ^ k1;
      d3 = lowD0;
      k0 = (k0 + PHILOX_W0) | 0;
      k1 = (k1 + PHILOX_W1) | 0;
    }
    out[at] = a0;
    out[at + 1] = a1;
    out[at + 2] = a2;
    out[at + 3] = a3;
    out[at + 4] = b0;
    out[at + 5] = b1;
    out[at + 6] = b2;
    out[at + 7] = b3;
    out[at + 8] = c0;
    out[at + 9] = c1;
    out[at + 10] = c2;
    out[at + 11] = c3;
    out[at + 12] = d0;
    out[at + 13] = d1;
    out[at + 14] = d2;
    out[at + 15] = d3;
  }
}

/** Words made ahead of use: 1024 blocks (16 KiB), refilled when used up. */
const BUFFERED_WORDS = 4096;

/** The normal stream of one seed. */
class GaussianStream {
  private nextBlock = 0;
  private readonly words = new Int32Array(BUFFERED_WORDS);
  /** The next word of `words` to use; BUFFERED_WORDS when they are used up. */
  private wordIndex = BUFFERED_WORDS;

  constructor(private readonly seed: number) {}

  /** Fills `out` with the next normals of the stream. */
  fill(out: Float32Array): void {
    const { inner, width } = ZIGGURAT;
    const words = this.words;
    let index = this.wordIndex;
    for (let i = 0; i < out.length; i++) {
      if (index === BUFFERED_WORDS) {
        this.refill();
        index = 0;
      }
      const word = words[index++];
      const layer = word & (ZIGGURAT_LAYERS - 1);
      const value = word >> 7;
      if (Math.abs(value) < inner[layer]) out[i] = value * width[layer];
      else {
        // The rare redraws read the buffer through nextWord, from where this loop stands.
        this.wordIndex = index;
        out[i] = this.outsideBox(value, layer);
        index = this.wordIndex;
      }
    }
    this.wordIndex = index;
  }

  private refill(): void {
    // A 2^53 block limit (Number precision) is far beyond any latent we will draw.
    philoxBlocks(this.words, this.nextBlock, this.seed);
    this.nextBlock += BUFFERED_WORDS / 4;
    this.wordIndex = 0;
  }

  /** The next word, as int32 bits. */
  private nextWord(): number {
    if (this.wordIndex === BUFFERED_WORDS) this.refill();
    return this.words[this.wordIndex++];
  }

  /** A uniform in (0, 1), never 0 or 1. */
  private nextUniform(): number {
    return ((this.nextWord() >>> 0) + 0.5) * TWO_TO_MINUS_32;
  }

  /** Marsaglia and Tsang's `nfix`: a word outside its layer's inner box (edge or tail), then redraws. */
  private outsideBox(value: number, layer: number): number {
    const { inner, width, density } = ZIGGURAT;
    for (;;) {
      const x = value * width[layer];
      if (layer === 0) {
        // The tail beyond R (Marsaglia's method): x = -ln(U1) / R, accepted when -2 ln(U2) > x^2.
        let tail: number;
        let height: number;
        do {
          tail = -naturalLogOfUnit(this.nextUniform()) / ZIGGURAT_R;
          height = -naturalLogOfUnit(this.nextUniform());
        } while (height + height < tail * tail);
        return value > 0 ? ZIGGURAT_R + tail : -ZIGGURAT_R - tail;
      }
      const y = density[layer] + this.nextUniform() * (density[layer - 1] - density[layer]);
      if (y < halfGaussian(x)) return x;
      const word = this.nextWord();
      layer = word & (ZIGGURAT_LAYERS - 1);
      value = word >> 7;
      if (Math.abs(value) < inner[layer]) return value * width[layer];
    }
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
