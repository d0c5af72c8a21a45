import { probit } from './release-prior.ts';

/** The shape of the switch's dither tile; see `ditherTile`. */
export interface DitherOptions {
  /** Side of the square, periodic tile (cells). */
  size: number;
  /** Gaussian std (cells) of the fine blur: the smallest switched region. */
  fineBlur: number;
  /** Gaussian std (cells) of the coarse blur subtracted: above this scale the field has no energy. */
  coarseBlur: number;
  /** Seed of the white noise the tile is filtered from. */
  seed: number;
}

/**
 * A periodic tile of a band-pass (difference-of-Gaussians) filtered white noise, ranked onto exact
 * standard normal marginals: the threshold field that decides which cells of a region switch first.
 * The band-pass gives it blue-noise-like structure at the scale of a switched region: blobs of
 * about `fineBlur`, and no energy at coarse scales, so every neighbourhood a few blobs wide holds
 * about the same share of each value. Thresholding it at probit(P) then switches about P of every
 * such neighbourhood, however narrow a band of the map it is, and independently of the images
 * (a field taken from the images' own structure switched their strongest differences first, which
 * pushed the exemplar's share above the map at low levels and made it jump between tenths).
 * Row-major, `size`² values.
 */
export function ditherTile(options: DitherOptions): Float32Array {
  const { size, fineBlur, coarseBlur, seed } = options;
  const random = seededRandom(seed);
  const white = Float64Array.from({ length: size * size }, () => {
    // Box–Muller; 1 − u keeps the logarithm finite.
    const u = 1 - random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
  });
  const fine = periodicBlur(white, size, fineBlur);
  const coarse = periodicBlur(white, size, coarseBlur);
  const band = fine.map((value, i) => value - coarse[i]);
  // Rank onto N(0, 1): the share of the tile below probit(P) is P exactly.
  const order = Array.from(band.keys()).sort((a, b) => band[a] - band[b] || a - b);
  const tile = new Float32Array(size * size);
  order.forEach((cell, rank) => {
    tile[cell] = probit((rank + 0.5) / order.length);
  });
  return tile;
}

/** A deterministic uniform generator on (0, 1) (a 32-bit linear congruential generator). */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state + 0.5) / 2 ** 32;
  };
}

/** A separable Gaussian blur on the torus (the tile wraps, so it repeats without a seam). */
function periodicBlur(values: Float64Array, size: number, std: number): Float64Array {
  const radius = Math.ceil(3 * std);
  const weights = Array.from({ length: 2 * radius + 1 }, (_, i) => Math.exp(-((i - radius) ** 2) / (2 * std * std)));
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  const kernel = weights.map((weight) => weight / total);
  const wrap = (index: number) => ((index % size) + size) % size;
  const alongX = new Float64Array(values.length);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let sum = 0;
      for (let k = -radius; k <= radius; k++) sum += kernel[k + radius] * values[y * size + wrap(x + k)];
      alongX[y * size + x] = sum;
    }
  }
  const out = new Float64Array(values.length);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let sum = 0;
      for (let k = -radius; k <= radius; k++) sum += kernel[k + radius] * alongX[wrap(y + k) * size + x];
      out[y * size + x] = sum;
    }
  }
  return out;
}

/**
 * The share of the tile the layer takes once the switch is cleaned up (thresholded at probit(P),
 * blurred by `cleanBlur`, thresholded again at one half), for `levels` + 1 evenly spaced P from 0
 * to 1: rising, below P for small P and above it for large. The denoiser re-thresholds with a ramp,
 * not a step, but the loop's hysteresis drives cells to either side of it: counted with the ramp,
 * the exemplar's share in the band's lower tenths came out 0.08–0.16 below the map, counted with
 * the step within 0.12.
 */
export function cleanedShares(tile: Float32Array, size: number, cleanBlur: number, levels = 40): Float64Array {
  const shares = new Float64Array(levels + 1);
  for (let k = 0; k <= levels; k++) {
    const p = k / levels;
    if (p === 0 || p === 1) {
      shares[k] = p;
      continue;
    }
    const threshold = -probit(p);
    const smooth = periodicBlur(
      Float64Array.from(tile, (value) => (value > threshold ? 1 : 0)),
      size,
      cleanBlur,
    );
    let total = 0;
    for (const value of smooth) total += value > 0.5 ? 1 : 0;
    shares[k] = total / smooth.length;
  }
  return shares;
}

/** The P whose cleaned share is `target`, interpolating linearly between the levels of `shares`. */
export function inverseShare(shares: Float64Array, target: number): number {
  const levels = shares.length - 1;
  for (let k = 1; k <= levels; k++) {
    if (shares[k] >= target) {
      const below = shares[k - 1];
      const span = shares[k] - below;
      return (k - 1 + (span > 0 ? (target - below) / span : 0)) / levels;
    }
  }
  return 1;
}
