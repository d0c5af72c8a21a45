import type { NoiseScales, NoiseSource, Scheduler } from '../scheduler.ts';
import type { Tensor } from '../tensor.ts';
import {
  alphaFromSigma,
  alphaNoiseScales,
  numpyLinspace,
  roundHalfToEven,
  scaleAndAdd,
  sigmasFromAlphas,
  trailingTimesteps,
} from './schedule-math.ts';
import { type ResolvedSchedulerConfig, trainingAlphasCumprod } from './scheduler-config.ts';
import { checkScheduleIndex, checkStepCount, checkStepInputs, checkTimestepsInRange } from './step-checks.ts';

/** The VP-form coefficients at noise level sigma: x_t = alpha x0 + sigmaT noise, and log-SNR lambda. */
function coefficients(sigma: number): { alpha: number; sigmaT: number; lambda: number } {
  const alpha = 1 / Math.sqrt(sigma * sigma + 1);
  const sigmaT = sigma * alpha;
  // At the final sigma = 0, lambda = +Infinity and the first-order update returns x0 exactly.
  return { alpha, sigmaT, lambda: Math.log(alpha) - Math.log(sigmaT) };
}

/**
 * DPM-Solver++(2M) (Lu et al. 2022, arXiv 2211.01095, Algorithm 2), as diffusers'
 * `DPMSolverMultistepScheduler` with solver_order 2, algorithm_type dpmsolver++, solver_type
 * midpoint and final_sigmas_type zero. The first step and the last are first order (DDIM in
 * data-prediction form); with a zero final sigma diffusers makes the last step first order for any
 * step count, which also covers lower_order_final's "fewer than 15 steps" rule.
 *
 * Timesteps: its own variants of the spacings, computed over N + 1 points with the last dropped
 * (see schedule-math.ts), and cut at `lambda_min_clipped`.
 */
export class DpmSolverMultistepScheduler implements Scheduler {
  readonly name = 'dpm++2m';
  readonly initNoiseSigma = 1;
  private readonly alphasCumprod: Float64Array;
  private readonly trainingSigmas: Float64Array;
  private schedule: number[] = [];
  /** sigma at each timestep of the schedule, then a final 0. */
  private sigmas: number[] = [];
  /** x0 estimate of the previous step (m_{i-1}), for the second-order correction. */
  private previousOriginal: Float32Array | null = null;
  private lastOriginal: Tensor | null = null;
  private lastIndex: number | null = null;

  constructor(readonly config: ResolvedSchedulerConfig) {
    this.alphasCumprod = trainingAlphasCumprod(config);
    this.trainingSigmas = sigmasFromAlphas(this.alphasCumprod);
  }

  get timesteps(): readonly number[] {
    return this.schedule;
  }

  get predictedOriginal(): Tensor | null {
    return this.lastOriginal;
  }

  setTimesteps(count: number): void {
    const trainSteps = this.config.num_train_timesteps;
    checkStepCount(this.name, count, trainSteps);
    const schedule = this.spacedTimesteps(count);
    checkTimestepsInRange(this.name, schedule, trainSteps);
    this.schedule = schedule;
    this.sigmas = [...schedule.map((timestep) => this.trainingSigmas[timestep]), 0];
    this.previousOriginal = null;
    this.lastOriginal = null;
    this.lastIndex = null;
  }

  /** The last usable timestep + 1: training timesteps whose lambda is below lambda_min_clipped are cut. */
  private lastTimestep(): number {
    const trainSteps = this.config.num_train_timesteps;
    // torch.searchsorted(flip(lambda), lambda_min_clipped): lambda falls with t, so count from the end.
    let clipped = 0;
    for (let t = trainSteps - 1; t >= 0; t--) {
      const lambda = 0.5 * Math.log(this.alphasCumprod[t] / (1 - this.alphasCumprod[t]));
      if (!(lambda < this.config.lambda_min_clipped)) break;
      clipped++;
    }
    return trainSteps - clipped;
  }

  private spacedTimesteps(count: number): number[] {
    const last = this.lastTimestep();
    switch (this.config.timestep_spacing) {
      case 'leading': {
        // (0..N) * (last // (N + 1)) reversed, its final 0 dropped, plus steps_offset.
        const ratio = Math.floor(last / (count + 1));
        return Array.from({ length: count }, (_, i) => (count - i) * ratio + this.config.steps_offset);
      }
      case 'trailing':
        return trailingTimesteps(this.config.num_train_timesteps, count, last);
      case 'linspace':
        return numpyLinspace(0, last - 1, count + 1)
          .map(roundHalfToEven)
          .reverse()
          .slice(0, count);
    }
  }

  scaleModelInput(sample: Tensor, index: number): Tensor {
    checkScheduleIndex(this.name, this.schedule, index);
    return sample;
  }

  /**
   * Glossary (paper's symbols): sigmaT/alpha at s0 = the current timestep, at t = the next one,
   * at s1 = the previous one; lambda = log(alpha / sigmaT), h = lambda_t - lambda_s0,
   * r0 = h_0 / h; D0 = m0 (this x0 estimate), D1 = (m0 - m1) / r0; the midpoint update is
   * x_t = (sigmaT_t / sigmaT_s0) x - alpha_t (e^-h - 1) (D0 + D1 / 2).
   * Must be called for consecutive indices after the first.
   */
  step(modelOutput: Tensor, index: number, sample: Tensor, _noise: NoiseSource): Tensor {
    checkStepInputs(this.name, this.schedule, index, modelOutput, sample);
    if (this.lastIndex !== null && index !== this.lastIndex + 1) {
      throw new Error(`dpm++2m scheduler: step ${index} after step ${this.lastIndex}; steps must be consecutive`);
    }
    const current = coefficients(this.sigmas[index]);
    const target = coefficients(this.sigmas[index + 1]);
    const original = this.convertModelOutput(modelOutput, sample, current.alpha, current.sigmaT);
    const isFinal = index === this.schedule.length - 1;
    const h = target.lambda - current.lambda;
    const decay = Math.exp(-h) - 1;
    const sampleScale = target.sigmaT / current.sigmaT;
    const next = new Float32Array(sample.data.length);

    if (this.previousOriginal === null || isFinal) {
      for (let i = 0; i < next.length; i++) next[i] = sampleScale * sample.data[i] - target.alpha * decay * original[i];
    } else {
      const previous = coefficients(this.sigmas[index - 1]);
      const ratio = (current.lambda - previous.lambda) / h;
      for (let i = 0; i < next.length; i++) {
        const d1 = (original[i] - this.previousOriginal[i]) / ratio;
        next[i] = sampleScale * sample.data[i] - target.alpha * decay * original[i] - 0.5 * target.alpha * decay * d1;
      }
    }
    this.previousOriginal = original;
    this.lastIndex = index;
    this.lastOriginal = { data: original, shape: [...sample.shape] };
    return { data: next, shape: [...sample.shape] };
  }

  /** DPM-Solver++ integrates the data prediction: turn any model output into an x0 estimate. */
  private convertModelOutput(modelOutput: Tensor, sample: Tensor, alpha: number, sigmaT: number): Float32Array {
    const original = new Float32Array(sample.data.length);
    const prediction = this.config.prediction_type;
    for (let i = 0; i < original.length; i++) {
      const x = sample.data[i];
      const output = modelOutput.data[i];
      if (prediction === 'epsilon') original[i] = (x - sigmaT * output) / alpha;
      else if (prediction === 'v_prediction') original[i] = alpha * x - sigmaT * output;
      else original[i] = output;
    }
    return original;
  }

  noiseScales(index: number): NoiseScales {
    checkScheduleIndex(this.name, this.schedule, index);
    return alphaNoiseScales(alphaFromSigma(this.sigmas[index]));
  }

  addNoise(clean: Tensor, noise: Tensor, index: number): Tensor {
    const scales = this.noiseScales(index);
    return scaleAndAdd(clean, scales.signal, noise, scales.noise);
  }
}
