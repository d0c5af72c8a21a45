import {
  addNoiseAtScales,
  alphaNoiseScales,
  computeBetas,
  cumulativeAlphas,
  interpolateTable,
  numpyArange,
  numpyLinspace,
  roundHalfToEven,
  sigmaNoiseScales,
  sigmasFromAlphas,
  trailingTimesteps,
  truncatedStart,
} from '@pixels/server/engine/schedulers/schedule-math.ts';
import { tensor } from '@pixels/server/engine/tensor.ts';
import { describe, expect, it } from 'vitest';

// Expected values were computed independently with a numpy transcription of diffusers' formulas
// in float64 (torch.linspace's two-sided fill, np.cumprod) and are pinned here.
const SD = { schedule: 'scaled_linear', trainSteps: 1000, betaStart: 0.00085, betaEnd: 0.012 } as const;

function relativeError(actual: number, expected: number): number {
  return Math.abs(actual - expected) / Math.max(Math.abs(expected), 1e-300);
}

describe('beta and alpha schedules', () => {
  it('builds the Stable Diffusion scaled_linear schedule', () => {
    const betas = computeBetas(SD);
    expect(betas).toHaveLength(1000);
    expect(betas[0]).toBeCloseTo(0.00085, 15);
    expect(betas[999]).toBeCloseTo(0.012, 15);
    const alphas = cumulativeAlphas(betas);
    expect(relativeError(alphas[0], 0.99915)).toBeLessThan(1e-12);
    expect(relativeError(alphas[500], 0.2763326838229746)).toBeLessThan(1e-12);
    expect(relativeError(alphas[999], 0.004660098513077238)).toBeLessThan(1e-12);
    const sigmas = sigmasFromAlphas(alphas);
    // 14.6146 and 0.0292 are the sigma range k-diffusion reports for SD 1.x/2.x.
    expect(relativeError(sigmas[999], 14.614641229333639)).toBeLessThan(1e-12);
    expect(relativeError(sigmas[0], 0.029167158151720367)).toBeLessThan(1e-12);
  });

  it('builds the linear (DDPM) and cosine (GLIDE) schedules', () => {
    const linear = cumulativeAlphas(computeBetas({ ...SD, schedule: 'linear', betaStart: 0.0001, betaEnd: 0.02 }));
    expect(relativeError(linear[999], 4.0358297653756754e-5)).toBeLessThan(1e-10);
    const cosine = computeBetas({ ...SD, schedule: 'squaredcos_cap_v2' });
    expect(relativeError(cosine[0], 4.128422482196914e-5)).toBeLessThan(1e-10);
    expect(cosine[999]).toBe(0.999); // capped at max_beta
    expect(relativeError(cumulativeAlphas(cosine)[500], 0.49228517244880304)).toBeLessThan(1e-12);
  });

  it('uses trained betas as given', () => {
    const trained = Array.from({ length: 4 }, (_, i) => 0.1 * (i + 1));
    const betas = computeBetas({ ...SD, trainSteps: 4, trainedBetas: trained });
    expect([...betas]).toEqual(trained);
    expect([...cumulativeAlphas(betas)].map((value) => Number(value.toFixed(12)))).toEqual([0.9, 0.72, 0.504, 0.3024]);
  });
});

describe('numpy primitives', () => {
  it('rounds halves to even like np.round', () => {
    expect([0.5, 1.5, 2.5, 3.5, -0.5, -1.5, 937.5, 812.5, 2.4999, 2.5001].map(roundHalfToEven)).toEqual([
      0, 2, 2, 4, 0, -2, 938, 812, 2, 3,
    ]);
  });

  it('spaces like np.linspace, with and without the endpoint', () => {
    expect(numpyLinspace(0, 999, 4)).toEqual([0, 333, 666, 999]);
    expect(numpyLinspace(0, 50, 4, false)).toEqual([0, 12.5, 25, 37.5]);
    expect(numpyLinspace(0, 999, 1)).toEqual([0]);
  });

  it('keeps N values where numpy arange overshoots to N + 1 (61 steps over 1000)', () => {
    const values = numpyArange(1000, 0, -1000 / 61, 61);
    expect(values).toHaveLength(61);
    const timesteps = trailingTimesteps(1000, 61);
    expect(timesteps).toHaveLength(61);
    expect(timesteps.slice(-2)).toEqual([32, 15]);
  });

  it('interpolates like np.interp on the integer grid, clamped at the ends', () => {
    const table = [1, 3, 7];
    expect([0.25, 1, 1.5, -3, 1200].map((position) => interpolateTable(table, position))).toEqual([1.5, 3, 5, 1, 7]);
  });
});

describe('truncatedStart', () => {
  it('rejects invalid steps and strengths', () => {
    expect(() => truncatedStart(0, 0.5)).toThrow('truncatedStart: steps must be an integer >= 1, got 0');
    expect(() => truncatedStart(2.5, 0.5)).toThrow('truncatedStart: steps must be an integer >= 1, got 2.5');
    expect(() => truncatedStart(10, 1.1)).toThrow('truncatedStart: strength must be in [0, 1], got 1.1');
    expect(() => truncatedStart(10, Number.NaN)).toThrow('truncatedStart: strength must be in [0, 1], got NaN');
  });

  it('runs the last int(steps * strength) steps, truncating as Python int() does', () => {
    const cases: [number, number, number][] = [
      [100, 0.6, 40], // the official SDXL script: 100 steps, denoising_start 0.6 -> 40 UNet calls
      [20, 0.6, 8],
      [10, 0.7, 3],
      [50, 0.35, 33],
      [100, 0.29, 72], // 100 * 0.29 = 28.999999999999996 -> 28 steps
      [3, 0.1, 3], // nothing runs
      [4, 1, 0],
      [1, 0.99, 1],
      [10, 0, 10],
    ];
    for (const [steps, strength, start] of cases)
      expect([steps, strength, truncatedStart(steps, strength)]).toEqual([steps, strength, start]);
  });
});

describe('addNoise forms', () => {
  const clean = tensor(Float32Array.from([1, -2]), [1, 2]);
  const noise = tensor(Float32Array.from([0.5, 0.25]), [1, 2]);

  it('mixes sqrt(a) x0 + sqrt(1 - a) noise', () => {
    const noised = addNoiseAtScales(clean, noise, alphaNoiseScales(0.64));
    expect([...noised.data].map((value) => Number(value.toFixed(6)))).toEqual([1.1, -1.45]);
    expect(noised.shape).toEqual([1, 2]);
  });

  it('adds sigma noise in the Euler form', () => {
    expect([...addNoiseAtScales(clean, noise, sigmaNoiseScales(2)).data]).toEqual([2, -1.5]);
  });

  it('refuses mismatched shapes', () => {
    expect(() => addNoiseAtScales(clean, tensor(new Float32Array(3), [3]), sigmaNoiseScales(1))).toThrow(
      'addNoise: shapes [1, 2] and [3] differ',
    );
  });
});
