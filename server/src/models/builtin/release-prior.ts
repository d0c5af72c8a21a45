/**
 * The built-in model's prior: how likely a cell the loop frees at training timestep t is to become
 * the exemplar rather than stay the source. The PIXELS loop frees a cell with edit-map value m
 * (linear curve) once the schedule has run a share 1 − m of its steps, so at strength `designStrength`
 * a cell freed at t has m ≈ t / (1000·designStrength), half a step later on average. Taking that m
 * as the probability makes the exemplar cover about m of each region of the band at that strength;
 * a higher strength frees every cell at a higher t (more exemplar), a curve that holds longer frees
 * them later (less). Cells still held at the last timestep (t ≤ 1) keep the source.
 */
export function releaseProbability(timestep: number, designStrength: number, trainSteps = 1000): number {
  if (timestep <= 1) return 0;
  const span = trainSteps * designStrength;
  return Math.min(1, Math.max(0, (timestep + span / 25) / span));
}

/** The grid of log σ² (σ² = (1 − ᾱ)/ᾱ) the release table is sampled on: past both ends of SD's schedule. */
export const LOG_SIGMA_FROM = -8;
export const LOG_SIGMA_STEP = 1 / 32;
const LOG_SIGMA_COUNT = 14 * 32 + 1;

/**
 * probit(P) on the log σ² grid, clamped to ±4: the prior as a threshold for a standard normal
 * field. σ² between two training timesteps takes the earlier one's probability. `remap` turns the
 * prior's P into the threshold's (the denoiser's clean-up changes the share a threshold yields).
 */
export function releaseProbitTable(
  alphasCumprod: ArrayLike<number>,
  designStrength: number,
  remap: (p: number) => number = (p) => p,
): Float32Array {
  const logSigma = Array.from(alphasCumprod, (alpha) => Math.log((1 - alpha) / alpha));
  const table = new Float32Array(LOG_SIGMA_COUNT);
  let t = 0;
  for (let k = 0; k < LOG_SIGMA_COUNT; k++) {
    const value = LOG_SIGMA_FROM + k * LOG_SIGMA_STEP;
    while (t + 1 < logSigma.length && logSigma[t + 1] <= value) t++;
    const below = logSigma[t] <= value ? t : -1;
    const p = below < 0 ? 0 : remap(releaseProbability(below, designStrength, alphasCumprod.length));
    table[k] = Math.max(-4, Math.min(4, probit(Math.min(1 - 3e-5, Math.max(3e-5, p)))));
  }
  return table;
}

/** The standard normal quantile (Acklam's rational approximation, |error| < 1.2e-9). */
export function probit(p: number): number {
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239,
  ];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (
      (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
      ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
    );
  }
  if (p > 1 - low) return -probit(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) /
    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
  );
}
