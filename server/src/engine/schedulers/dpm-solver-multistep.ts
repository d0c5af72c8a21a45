import type { NoiseScales, NoiseSource, SchedulerStepOutput } from '../scheduler.ts';
import type { Tensor } from '../tensor.ts';
import { BaseScheduler } from './base-scheduler.ts';
import {
  alphaFromSigma,
  alphaNoiseScales,
  predictOriginal,
  sigmasFromAlphas,
  spacedTimesteps,
  variancePreservingPrediction,
} from './schedule-math.ts';
import type { ResolvedSchedulerConfig } from './scheduler-config.ts';
import { checkScheduleIndex, checkStepInputs } from './step-checks.ts';

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
export class DpmSolverMultistepScheduler extends BaseScheduler {
  readonly name = 'dpm++2m';
  readonly initNoiseSigma = 1;
  private readonly trainingSigmas: Float64Array;
  /** sigma at each timestep of the schedule, then a final 0. */
  private sigmas: number[] = [];
  /** x0 estimate of the previous step (m_{i-1}), for the second-order correction. */
  private previousOriginal: Float32Array | null = null;
  private lastIndex: number | null = null;

  constructor(config: ResolvedSchedulerConfig) {
    super(config);
    this.trainingSigmas = sigmasFromAlphas(this.alphasCumprod);
  }

  protected override resetState(): void {
    this.sigmas = [...this.schedule.map((timestep) => this.trainingSigmas[timestep]), 0];
    this.previousOriginal = null;
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

  protected layOutTimesteps(count: number): number[] {
    const { timestep_spacing: spacing, num_train_timesteps: trainSteps, steps_offset: stepsOffset } = this.config;
    return spacedTimesteps(count, {
      spacing,
      trainSteps,
      stepsOffset,
      grid: 'steps-and-final',
      linspaceValues: 'integer',
      end: this.lastTimestep(),
    });
  }

  /**
   * Glossary (paper's symbols): sigmaT/alpha at s0 = the current timestep, at t = the next one,
   * at s1 = the previous one; lambda = log(alpha / sigmaT), h = lambda_t - lambda_s0,
   * r0 = h_0 / h; D0 = m0 (this x0 estimate), D1 = (m0 - m1) / r0; the midpoint update is
   * x_t = (sigmaT_t / sigmaT_s0) x - alpha_t (e^-h - 1) (D0 + D1 / 2).
   * Must be called for consecutive indices after the first.
   */
  step(modelOutput: Tensor, index: number, sample: Tensor, _noise: NoiseSource): SchedulerStepOutput {
    checkStepInputs(this.name, this.schedule, index, modelOutput, sample);
    if (this.lastIndex !== null && index !== this.lastIndex + 1) {
      throw new Error(`dpm++2m scheduler: step ${index} after step ${this.lastIndex}; steps must be consecutive`);
    }
    const current = coefficients(this.sigmas[index]);
    const target = coefficients(this.sigmas[index + 1]);
    // DPM-Solver++ integrates the data prediction: any model output becomes an x0 estimate.
    const scales = variancePreservingPrediction({ signal: current.alpha, noise: current.sigmaT });
    const original = new Float32Array(sample.data.length);
    predictOriginal(this.config.prediction_type, scales, modelOutput, sample, original);
    const predictedOriginal = { data: original, shape: [...sample.shape] };
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
    return { sample: { data: next, shape: [...sample.shape] }, predictedOriginal };
  }

  override noiseScales(index: number): NoiseScales {
    checkScheduleIndex(this.name, this.schedule, index);
    return alphaNoiseScales(alphaFromSigma(this.sigmas[index]));
  }
}
