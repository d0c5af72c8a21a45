/**
 * The noise-schedule math every scheduler shares, transcribed from diffusers (`scheduling_*.py`,
 * v0.3x). Tables are computed once per scheduler, in float64; diffusers builds them in float32
 * torch tensors, so alphas and sigmas agree with it to about 1e-6 relative and timesteps exactly.
 *
 * Timestep spacing (Table 2 of "Common Diffusion Noise Schedules and Sample Steps are Flawed"),
 * T = num_train_timesteps, N = inference steps, noisiest first. diffusers' classes differ:
 * - leading: DDIM, Euler, Euler a: (0..N-1) * (T // N), + steps_offset.
 *   DPM-Solver++: (0..N) * (T // (N+1)) with its final 0 dropped, + steps_offset.
 * - trailing: all four: round(arange(T, 0, -T/N)) - 1 (DPM-Solver++ starts from its clipped T).
 * - linspace: DDIM: round(linspace(0, T-1, N)). Euler, Euler a: the same without rounding, as
 *   float32, sigmas interpolated between training timesteps. DPM-Solver++:
 *   round(linspace(0, T-1, N+1)) with its final 0 dropped.
 * Rounding is numpy's (halves to even). DDIM steps to t - T // N whatever the spacing.
 * LCM ignores timestep_spacing and steps_offset and has its own schedule (`lcm.ts`).
 * The offset applies to leading spacing only. One deliberate divergence: numpy's float `arange`
 * yields N + 1 trailing values for some N (61, 103, 121, 122 at T = 1000), which makes diffusers
 * run an extra step at timestep -1; we keep the first N.
 */
import type { NoiseScales } from '../scheduler.ts';
import { assertSameShape, type Tensor } from '../tensor.ts';

export const BETA_SCHEDULES = ['scaled_linear', 'linear', 'squaredcos_cap_v2'] as const;
export type BetaSchedule = (typeof BETA_SCHEDULES)[number];

export const TIMESTEP_SPACINGS = ['leading', 'trailing', 'linspace'] as const;
export type TimestepSpacing = (typeof TIMESTEP_SPACINGS)[number];

export const PREDICTION_TYPES = ['epsilon', 'v_prediction', 'sample'] as const;
export type PredictionType = (typeof PREDICTION_TYPES)[number];

export interface BetaOptions {
  schedule: BetaSchedule;
  trainSteps: number;
  betaStart: number;
  betaEnd: number;
  /** Used as is when given (diffusers `trained_betas`); must hold `trainSteps` values. */
  trainedBetas?: readonly number[] | null;
}

/** torch.linspace: the first half counts up from `start`, the second half down from `end`. */
function torchLinspace(start: number, end: number, count: number): Float64Array {
  const values = new Float64Array(count);
  if (count === 1) {
    values[0] = start;
    return values;
  }
  const step = (end - start) / (count - 1);
  const half = Math.floor(count / 2);
  for (let i = 0; i < count; i++) {
    values[i] = i < half ? start + i * step : end - (count - 1 - i) * step;
  }
  return values;
}

/** The GLIDE cosine schedule (diffusers `betas_for_alpha_bar`, max_beta 0.999). */
function cosineBetas(trainSteps: number): Float64Array {
  const alphaBar = (time: number) => Math.cos(((time + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
  const betas = new Float64Array(trainSteps);
  for (let i = 0; i < trainSteps; i++) {
    betas[i] = Math.min(1 - alphaBar((i + 1) / trainSteps) / alphaBar(i / trainSteps), 0.999);
  }
  return betas;
}

/** The per-timestep noise variances beta_t, t = 0..T-1. */
export function computeBetas(options: BetaOptions): Float64Array {
  const { schedule, trainSteps, betaStart, betaEnd, trainedBetas } = options;
  if (trainedBetas) return Float64Array.from(trainedBetas);
  switch (schedule) {
    case 'linear':
      return torchLinspace(betaStart, betaEnd, trainSteps);
    case 'scaled_linear':
      // Linear in sqrt(beta): the latent diffusion (Stable Diffusion) schedule.
      return torchLinspace(Math.sqrt(betaStart), Math.sqrt(betaEnd), trainSteps).map((root) => root * root);
    case 'squaredcos_cap_v2':
      return cosineBetas(trainSteps);
  }
}

/** alphas_cumprod: alpha-bar_t = prod_{s <= t} (1 - beta_s), the signal fraction at timestep t. */
export function cumulativeAlphas(betas: Float64Array): Float64Array {
  const cumulative = new Float64Array(betas.length);
  let product = 1;
  for (let t = 0; t < betas.length; t++) {
    product *= 1 - betas[t];
    cumulative[t] = product;
  }
  return cumulative;
}

/** The variance-exploding noise levels sigma_t = sqrt((1 - alpha-bar_t) / alpha-bar_t). */
export function sigmasFromAlphas(alphasCumprod: Float64Array): Float64Array {
  return alphasCumprod.map((alpha) => Math.sqrt((1 - alpha) / alpha));
}

/** Converts a noise level sigma back to the signal fraction alpha-bar = 1 / (sigma^2 + 1). */
export function alphaFromSigma(sigma: number): number {
  return 1 / (sigma * sigma + 1);
}

/** np.round: halves go to the even neighbour (Math.round sends them up). */
export function roundHalfToEven(value: number): number {
  const floor = Math.floor(value);
  const fraction = value - floor;
  if (fraction < 0.5) return floor;
  if (fraction > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** np.linspace(start, stop, count, endpoint): i * step + start, the endpoint pinned to `stop`. */
export function numpyLinspace(start: number, stop: number, count: number, endpoint = true): number[] {
  const divisions = endpoint ? count - 1 : count;
  const step = divisions > 0 ? (stop - start) / divisions : 0;
  const values = Array.from({ length: count }, (_, i) => i * step + start);
  if (endpoint && count > 1) values[count - 1] = stop;
  return values;
}

/**
 * np.arange(start, stop, step) for a float step, at most `limit` values. numpy fills with
 * start + i * delta where delta = (start + step) - start, which can differ from `step` in the
 * last bit; that bit decides halfway roundings, so it is kept.
 */
export function numpyArange(start: number, stop: number, step: number, limit: number): number[] {
  const length = Math.min(Math.max(Math.ceil((stop - start) / step), 0), limit);
  const delta = start + step - start;
  return Array.from({ length }, (_, i) => start + i * delta);
}

/** Trailing spacing: round(arange(from, 0, -T/count)) - 1, so the first step is at from - 1. */
export function trailingTimesteps(trainSteps: number, count: number, from = trainSteps): number[] {
  return numpyArange(from, 0, -trainSteps / count, count).map((value) => roundHalfToEven(value) - 1);
}

/** The spacing options of one scheduler class (see the table at the top of this file). */
export interface SpacingOptions {
  spacing: TimestepSpacing;
  /** T, the training timesteps. */
  trainSteps: number;
  /** Added to leading timesteps only. */
  stepsOffset: number;
  /**
   * 'steps': the grid has N points (DDIM, Euler, Euler a). 'steps-and-final': DPM-Solver++ lays out
   * N + 1 points and drops the final one (leading and linspace).
   */
  grid: 'steps' | 'steps-and-final';
  /** 'integer': linspace values are rounded (DDIM, DPM-Solver++); 'float32': kept as float32 (Euler). */
  linspaceValues: 'integer' | 'float32';
  /** One past the last usable timestep (DPM-Solver++'s lambda_min_clipped cut); default T. */
  end?: number;
}

/** The N timesteps of a schedule, noisiest first, for every spacing and class variant. */
export function spacedTimesteps(count: number, options: SpacingOptions): number[] {
  const { trainSteps, stepsOffset, end = trainSteps } = options;
  const points = options.grid === 'steps' ? count : count + 1;
  switch (options.spacing) {
    case 'leading': {
      const ratio = Math.floor(end / points);
      return Array.from({ length: count }, (_, i) => (points - 1 - i) * ratio + stepsOffset);
    }
    case 'trailing':
      return trailingTimesteps(trainSteps, count, end);
    case 'linspace': {
      const values = numpyLinspace(0, end - 1, points)
        .reverse()
        .slice(0, count);
      return values.map(options.linspaceValues === 'integer' ? roundHalfToEven : Math.fround);
    }
  }
}

/** np.interp over the integer grid 0..n-1: linear between neighbours, clamped at the ends. */
export function interpolateTable(table: ArrayLike<number>, position: number): number {
  if (position <= 0) return table[0];
  const last = table.length - 1;
  if (position >= last) return table[last];
  const low = Math.floor(position);
  const weight = position - low;
  return weight === 0 ? table[low] : table[low] + (table[low + 1] - table[low]) * weight;
}

/**
 * img2img truncation (diffusers `get_timesteps`): the loop runs the last
 * min(int(steps * strength), steps) timesteps; returns the index of the first one run
 * (`steps` when strength is so low that nothing runs).
 * @param steps inference steps, an integer >= 1
 * @param strength in [0, 1]; 1 runs every step
 */
export function truncatedStart(steps: number, strength: number): number {
  if (!Number.isInteger(steps) || steps < 1) {
    throw new RangeError(`truncatedStart: steps must be an integer >= 1, got ${steps}`);
  }
  if (!(strength >= 0 && strength <= 1)) {
    throw new RangeError(`truncatedStart: strength must be in [0, 1], got ${strength}`);
  }
  const initTimestep = Math.min(Math.floor(steps * strength), steps);
  return Math.max(steps - initTimestep, 0);
}

/** Forward diffusion at one noise level: scales.signal * clean + scales.noise * noise, element by element. */
export function addNoiseAtScales(clean: Tensor, noise: Tensor, scales: NoiseScales): Tensor {
  assertSameShape(clean, noise, 'addNoise');
  const { signal, noise: noiseScale } = scales;
  const data = new Float32Array(clean.data.length);
  for (let i = 0; i < data.length; i++) data[i] = signal * clean.data[i] + noiseScale * noise.data[i];
  return { data, shape: [...clean.shape] };
}

/** The coefficients of DDPM's forward diffusion at alpha-bar: sqrt(a) x0 + sqrt(1 - a) noise. */
export function alphaNoiseScales(alphaCumprod: number): NoiseScales {
  return { signal: Math.sqrt(alphaCumprod), noise: Math.sqrt(1 - alphaCumprod) };
}

/** The coefficients of the Euler family's variance-exploding form: x0 + sigma noise. */
export function sigmaNoiseScales(sigma: number): NoiseScales {
  return { signal: 1, noise: sigma };
}

/**
 * What reading x0 back from a model output needs at one noise level: the sample's forward form
 * x = signal x0 + noise eps (for epsilon), and the v form x0 = vSample x - vOutput v, v being
 * defined on the unit-variance model input.
 */
export interface PredictionScales extends NoiseScales {
  vSample: number;
  vOutput: number;
}

/** Variance preserving (DDIM, LCM, DPM-Solver++): the model sees x itself, so v reuses the noise scales. */
export function variancePreservingPrediction(scales: NoiseScales): PredictionScales {
  return { ...scales, vSample: scales.signal, vOutput: scales.noise };
}

/**
 * Variance exploding (the Euler family, x = x0 + sigma eps): the model sees x / sqrt(sigma^2 + 1), so
 * v gives x0 = x / (sigma^2 + 1) - sigma / sqrt(sigma^2 + 1) v (c_skip and c_out of Karras et al.).
 */
export function varianceExplodingPrediction(sigma: number): PredictionScales {
  return {
    ...sigmaNoiseScales(sigma),
    vSample: 1 / (sigma * sigma + 1),
    vOutput: sigma / Math.sqrt(sigma * sigma + 1),
  };
}

/**
 * The clean-sample estimate x0 from a model output, for every prediction type and scheduler
 * (diffusers' `pred_original_sample`), written into `out`: a Float64Array keeps the float64
 * estimate for a step that goes on computing with it (DDIM, LCM), a Float32Array rounds it. The
 * sample is the unscaled x; with `clipRange` the estimate is clamped to [-clipRange, clipRange]
 * (clip_sample). The type test sits outside the loops, which run once per latent element.
 */
export function predictOriginal(
  prediction: PredictionType,
  scales: PredictionScales,
  modelOutput: Tensor,
  sample: Tensor,
  out: Float32Array | Float64Array,
  clipRange: number | null = null,
): void {
  assertSameShape(modelOutput, sample, 'predictOriginal');
  const x = sample.data;
  const output = modelOutput.data;
  const { signal, noise, vSample, vOutput } = scales;
  switch (prediction) {
    case 'epsilon':
      for (let i = 0; i < x.length; i++) out[i] = (x[i] - noise * output[i]) / signal;
      break;
    case 'v_prediction':
      for (let i = 0; i < x.length; i++) out[i] = vSample * x[i] - vOutput * output[i];
      break;
    case 'sample':
      out.set(output);
      break;
  }
  if (clipRange !== null) {
    for (let i = 0; i < x.length; i++) out[i] = Math.min(Math.max(out[i], -clipRange), clipRange);
  }
}
