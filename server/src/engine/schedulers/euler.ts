import type { NoiseScales, NoiseSource, SchedulerName, SchedulerStepOutput } from '../scheduler.ts';
import type { Tensor } from '../tensor.ts';
import { BaseScheduler } from './base-scheduler.ts';
import {
  interpolateTable,
  predictOriginal,
  sigmaNoiseScales,
  sigmasFromAlphas,
  spacedTimesteps,
  varianceExplodingPrediction,
} from './schedule-math.ts';
import type { ResolvedSchedulerConfig } from './scheduler-config.ts';
import { checkScheduleIndex, checkStepInputs } from './step-checks.ts';

/**
 * Euler (Karras et al. 2022, Algorithm 2 without churn), as diffusers' `EulerDiscreteScheduler`.
 * It works in the variance-exploding form x = x0 + sigma * noise: the model sees
 * x / sqrt(sigma^2 + 1), and `addNoise` returns x0 + sigma * noise.
 *
 * Timesteps: linspace spacing keeps float32 values (not rounded) and interpolates sigma linearly
 * between training timesteps; leading and trailing give integers as DDIM does.
 */
export class EulerScheduler extends BaseScheduler {
  readonly name: SchedulerName = 'euler';
  /** sigma_t for every training timestep t. */
  private readonly trainingSigmas: Float64Array;
  /** sigma at each timestep of the schedule, then a final 0. */
  protected sigmas: number[] = [];

  constructor(config: ResolvedSchedulerConfig) {
    super(config);
    this.trainingSigmas = sigmasFromAlphas(this.alphasCumprod);
  }

  /** diffusers quirk kept for parity: with leading spacing the initial noise is sqrt(sigma_max^2 + 1). */
  get initNoiseSigma(): number {
    const sigmaMax = this.sigmas.length > 0 ? Math.max(...this.sigmas) : Math.max(...this.trainingSigmas);
    return this.config.timestep_spacing === 'leading' ? Math.sqrt(sigmaMax * sigmaMax + 1) : sigmaMax;
  }

  protected layOutTimesteps(count: number): number[] {
    const { timestep_spacing: spacing, num_train_timesteps: trainSteps, steps_offset: stepsOffset } = this.config;
    // np.linspace(..., dtype=np.float32): the model is fed these float32 values.
    return spacedTimesteps(count, { spacing, trainSteps, stepsOffset, grid: 'steps', linspaceValues: 'float32' });
  }

  protected override resetState(): void {
    this.sigmas = [...this.schedule.map((timestep) => interpolateTable(this.trainingSigmas, timestep)), 0];
  }

  override scaleModelInput(sample: Tensor, index: number): Tensor {
    checkScheduleIndex(this.name, this.schedule, index);
    const scale = 1 / Math.sqrt(this.sigmas[index] ** 2 + 1);
    return { data: sample.data.map((value) => value * scale), shape: [...sample.shape] };
  }

  /** Predicted x0 (denoised D(x; sigma) in Karras et al.) from the raw model output at step `index`. */
  protected predictOriginal(modelOutput: Tensor, sample: Tensor, index: number): Tensor {
    const scales = varianceExplodingPrediction(this.sigmas[index]);
    const original = new Float32Array(sample.data.length);
    predictOriginal(this.config.prediction_type, scales, modelOutput, sample, original);
    return { data: original, shape: [...sample.shape] };
  }

  /**
   * One Euler step of the probability-flow ODE dx/dsigma = (x - x0) / sigma from sigma_i to
   * sigma_{i+1}. Glossary: derivative = d_i, sigma = sigma_i (sigma-hat, no churn), dt = sigma_{i+1} - sigma_i.
   */
  step(modelOutput: Tensor, index: number, sample: Tensor, _noise: NoiseSource): SchedulerStepOutput {
    checkStepInputs(this.name, this.schedule, index, modelOutput, sample);
    const sigma = this.sigmas[index];
    const dt = this.sigmas[index + 1] - sigma;
    const predictedOriginal = this.predictOriginal(modelOutput, sample, index);
    const original = predictedOriginal.data;
    const next = new Float32Array(sample.data.length);
    for (let i = 0; i < next.length; i++) {
      const derivative = (sample.data[i] - original[i]) / sigma;
      next[i] = sample.data[i] + derivative * dt;
    }
    return { sample: { data: next, shape: [...sample.shape] }, predictedOriginal };
  }

  override noiseScales(index: number): NoiseScales {
    checkScheduleIndex(this.name, this.schedule, index);
    return sigmaNoiseScales(this.sigmas[index]);
  }
}
