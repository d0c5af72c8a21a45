/**
 * Seeded standard normal noise that is bit-identical on every machine.
 *
 * Why it is platform independent: the uniform words come from Philox4x32-10 (Salmon et al.,
 * "Parallel random numbers: as easy as 1, 2, 3", SC'11), computed exactly: 32-bit integer
 * operations and 64-bit products, in a small WebAssembly kernel (noise-kernel.wat, where i64.mul
 * is exact; philox4x32 below is the same function in JavaScript, the reference it is tested against).
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
 *
 * Why a WebAssembly kernel for Philox and the ziggurat's common case: JavaScript has no exact
 * 32x32 -> 64-bit multiply, and its float64 stand-in plus the per-word loop made a 512² RGB draw
 * take about 27 ms; the kernel makes it in about 12 (the edge and tail steps, 1 word in 80, stay
 * here). WebAssembly's float64 arithmetic is IEEE without fused operations, as JavaScript's is.
 */

import { NOISE_KERNEL_WASM } from './noise-kernel-wasm.ts';
import type { NoiseSource } from './scheduler.ts';
import { elementCount, type Tensor } from './tensor.ts';
import { webAssembly } from './webassembly-api.ts';

const PHILOX_M0 = 0xd2511f53;
const PHILOX_M1 = 0xcd9e8d57;
const PHILOX_W0 = 0x9e3779b9;
const PHILOX_W1 = 0xbb67ae85;
const PHILOX_ROUNDS = 10;

const TWO_TO_MINUS_32 = 2 ** -32;

/**
 * One Philox4x32-10 block (Random123's `philox4x32`): 4 counter words and 2 key words, all uint32,
 * to 4 output words. The readable reference, with exact BigInt products; streams are made by the
 * kernel, which tests hold to this.
 */
export function philox4x32(counter: readonly number[], key: readonly number[]): [number, number, number, number] {
  let [c0, c1, c2, c3] = counter.map(BigInt);
  let [k0, k1] = key.map(BigInt);
  const word = (value: bigint) => value & 0xffffffffn;
  for (let round = 0; round < PHILOX_ROUNDS; round++) {
    const product0 = BigInt(PHILOX_M0) * c0;
    const product1 = BigInt(PHILOX_M1) * c2;
    [c0, c1, c2, c3] = [(product1 >> 32n) ^ c1 ^ k0, word(product1), (product0 >> 32n) ^ c3 ^ k1, word(product0)];
    // The key schedule for the next round (the last round's bump is unused).
    k0 = word(k0 + BigInt(PHILOX_W0));
    k1 = word(k1 + BigInt(PHILOX_W1));
  }
  return [Number(c0), Number(c1), Number(c2), Number(c3)];
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

/** The kernel's memory: the word buffer, the ziggurat's tables, and room for the normals it makes. */
const KERNEL_WORDS_BYTE = 0;
const KERNEL_INNER_BYTE = 16384;
const KERNEL_WIDTH_BYTE = 17408;
const KERNEL_OUT_BYTE = 65536;
const KERNEL_OUT_VALUES = 16384;

/** Words made ahead of use: 1024 blocks (16 KiB), refilled when used up. */
const BUFFERED_WORDS = 4096;

interface NoiseKernel {
  words: Int32Array;
  normals: Float32Array;
  philox(out: number, count: number, low: number, high: number, seed: number): void;
  fastNormals(out: number, count: number, index: number): number;
}

let kernel: NoiseKernel | undefined;

/** This thread's instance of the kernel (a worker thread makes its own), with the ziggurat's tables loaded. */
function noiseKernel(): NoiseKernel {
  if (kernel) return kernel;
  const { Module, Instance } = webAssembly;
  const instance = new Instance(new Module(Buffer.from(NOISE_KERNEL_WASM, 'base64')));
  const exports = instance.exports as {
    memory: { buffer: ArrayBuffer };
    philox: NoiseKernel['philox'];
    normals: NoiseKernel['fastNormals'];
  };
  const memory = exports.memory.buffer;
  new Float64Array(memory, KERNEL_INNER_BYTE, ZIGGURAT_LAYERS).set(ZIGGURAT.inner);
  new Float64Array(memory, KERNEL_WIDTH_BYTE, ZIGGURAT_LAYERS).set(ZIGGURAT.width);
  kernel = {
    words: new Int32Array(memory, KERNEL_WORDS_BYTE, BUFFERED_WORDS),
    normals: new Float32Array(memory, KERNEL_OUT_BYTE, KERNEL_OUT_VALUES),
    philox: exports.philox,
    fastNormals: exports.normals,
  };
  return kernel;
}

/**
 * Philox blocks first, first + 1, ... of key (seed, 0) into `out`, out.length / 4 of them (at most
 * 1024), as philox4x32 makes them one at a time.
 */
export function philoxBlocks(out: Int32Array, first: number, seed: number): void {
  if (out.length % 4 !== 0 || out.length > BUFFERED_WORDS) {
    throw new RangeError(
      `philoxBlocks: out must hold whole blocks, at most ${BUFFERED_WORDS} words; got ${out.length}`,
    );
  }
  const { words, philox } = noiseKernel();
  const saved = Int32Array.from(words);
  philox(KERNEL_WORDS_BYTE, out.length / 4, first % 0x100000000, Math.floor(first / 0x100000000), seed);
  out.set(words.subarray(0, out.length));
  words.set(saved);
}

/**
 * The normal stream of one seed. Its buffered words live in the thread's kernel while it fills a
 * tensor and in `saved` between fills, so streams in one thread never share them.
 */
class GaussianStream {
  private nextBlock = 0;
  private readonly saved = new Int32Array(BUFFERED_WORDS);
  /** The next word to use; BUFFERED_WORDS when they are used up. */
  private wordIndex = BUFFERED_WORDS;
  private readonly kernel = noiseKernel();

  constructor(private readonly seed: number) {}

  /**
   * Fills `out` with the next normals of the stream: the kernel makes them a chunk at a time and
   * stops at each word outside its layer's box (about 1 in 80), which the edge and tail steps here
   * finish, as they need exp and log.
   */
  fill(out: Float32Array): void {
    const { words, normals, fastNormals } = this.kernel;
    words.set(this.saved);
    for (let start = 0; start < out.length; start += KERNEL_OUT_VALUES) {
      const count = Math.min(KERNEL_OUT_VALUES, out.length - start);
      let made = 0;
      while (made < count) {
        if (this.wordIndex === BUFFERED_WORDS) this.refill();
        const written = fastNormals(KERNEL_OUT_BYTE + made * 4, count - made, this.wordIndex);
        made += written;
        this.wordIndex += written;
        if (made < count && this.wordIndex < BUFFERED_WORDS) {
          const word = words[this.wordIndex++];
          normals[made++] = this.outsideBox(word >> 7, word & (ZIGGURAT_LAYERS - 1));
        }
      }
      out.set(normals.subarray(0, count), start);
    }
    this.saved.set(words);
  }

  private refill(): void {
    // A 2^53 block limit (Number precision) is far beyond any latent we will draw.
    const block = this.nextBlock;
    this.kernel.philox(
      KERNEL_WORDS_BYTE,
      BUFFERED_WORDS / 4,
      block % 0x100000000,
      Math.floor(block / 0x100000000),
      this.seed,
    );
    this.nextBlock += BUFFERED_WORDS / 4;
    this.wordIndex = 0;
  }

  /** The next word, as int32 bits. */
  private nextWord(): number {
    if (this.wordIndex === BUFFERED_WORDS) this.refill();
    return this.kernel.words[this.wordIndex++];
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
  return (shape, into) => {
    checkShape(shape);
    const count = elementCount(shape);
    if (into && into.length !== count) {
      throw new RangeError(`noise: into holds ${into.length} values, the shape [${shape.join(', ')}] ${count}`);
    }
    const data = into ?? new Float32Array(count);
    stream.fill(data);
    return { data, shape: [...shape] };
  };
}

/** The first tensor of `seed`'s stream: createNoise(seed)(shape). */
export function gaussianTensor(seed: number, shape: readonly number[]): Tensor {
  return createNoise(seed)(shape);
}
