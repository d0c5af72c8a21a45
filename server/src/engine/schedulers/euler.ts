import type { NoiseScales, NoiseSource, Scheduler, SchedulerName } from '../scheduler.ts';
import type { Tensor } from '../tensor.ts';
import {
  interpolateTable,
  leadingTimesteps,
  linspaceTimesteps,
  scaleAndAdd,
  sigmaNoiseScales,
  sigmasFromAlphas,
  trailingTimesteps,
} from './schedule-math.ts';
import { type ResolvedSchedulerConfig, trainingAlphasCumprod } from './scheduler-config.ts';
import { checkScheduleIndex, checkStepCount, checkStepInputs, checkTimestepsInRange } from './step-checks.ts';

/**
 * Euler (Karras et al. 2022, Algorithm 2 without churn), as diffusers' `EulerDiscreteScheduler`.
 * It works in the variance-exploding form x = x0 + sigma * noise: the model sees
 * x / sqrt(sigma^2 + 1), and `addNoise` returns x0 + sigma * noise.
 *
 * Timesteps: linspace spacing keeps float32 values (not rounded) and interpolates sigma linearly
 * between training timesteps; leading and trailing give integers as DDIM does.
 */
export class EulerScheduler implements Scheduler {
  readonly name: SchedulerName = 'euler';
  /** sigma_t for every training timestep t. */
  private readonly trainingSigmas: Float64Array;
  private schedule: number[] = [];
  /** sigma at each timestep of the schedule, then a final 0. */
  protected sigmas: number[] = [];
  protected lastOriginal: Tensor | null = null;

  constructor(readonly config: ResolvedSchedulerConfig) {
    this.trainingSigmas = sigmasFromAlphas(trainingAlphasCumprod(config));
  }

  get timesteps(): readonly number[] {
    return this.schedule;
  }

  get predictedOriginal(): Tensor | null {
    return this.lastOriginal;
  }

  /** diffusers quirk kept for parity: with leading spacing the initial noise is sqrt(sigma_max^2 + 1). */
  get initNoiseSigma(): number {
    const sigmaMax = this.sigmas.length > 0 ? Math.max(...this.sigmas) : Math.max(...this.trainingSigmas);
    return this.config.timestep_spacing === 'leading' ? Math.sqrt(sigmaMax * sigmaMax + 1) : sigmaMax;
  }

  setTimesteps(count: number): void {
    const trainSteps = this.config.num_train_timesteps;
    checkStepCount(this.name, count, trainSteps);
    const schedule = this.spacedTimesteps(count);
    checkTimestepsInRange(this.name, schedule, trainSteps);
    this.schedule = schedule;
    this.sigmas = [...schedule.map((timestep) => interpolateTable(this.trainingSigmas, timestep)), 0];
    this.lastOriginal = null;
  }

  private spacedTimesteps(count: number): number[] {
    const trainSteps = this.config.num_train_timesteps;
    switch (this.config.timestep_spacing) {
      case 'leading':
        return leadingTimesteps(trainSteps, count, this.config.steps_offset);
      case 'trailing':
        return trailingTimesteps(trainSteps, count);
      case 'linspace':
        // np.linspace(..., dtype=np.float32): the model is fed these float32 values.
        return linspaceTimesteps(trainSteps - 1, count).map(Math.fround);
    }
  }

  scaleModelInput(sample: Tensor, index: number): Tensor {
    checkScheduleIndex(this.name, this.schedule, index);
    const scale = 1 / Math.sqrt(this.sigmas[index] ** 2 + 1);
    return { data: sample.data.map((value) => value * scale), shape: [...sample.shape] };
  }

  /**
   * Predicted x0 (denoised D(x; sigma) in Karras et al.) from the raw model output at noise level
   * `sigma`; `sample` is the unscaled latent x.
   */
  protected predictOriginal(modelOutput: Tensor, sample: Tensor, sigma: number): Float32Array {
    const original = new Float32Array(sample.data.length);
    const prediction = this.config.prediction_type;
    // v-prediction: x0 = c_skip x + c_out v with c_skip = 1 / (sigma^2 + 1), c_out = -sigma / sqrt(sigma^2 + 1).
    const skip = 1 / (sigma * sigma + 1);
    const out = -sigma / Math.sqrt(sigma * sigma + 1);
    for (let i = 0; i < original.length; i++) {
      const x = sample.data[i];
      const output = modelOutput.data[i];
      if (prediction === 'epsilon') original[i] = x - sigma * output;
      else if (prediction === 'v_prediction') original[i] = out * output + skip * x;
      else original[i] = output;
    }
    return original;
  }

  /**
   * One Euler step of the probability-flow ODE dx/dsigma = (x - x0) / sigma from sigma_i to
   * sigma_{i+1}. Glossary: derivative = d_i, sigma = sigma_i (sigma-hat, no churn), dt = sigma_{i+1} - sigma_i.
   */
  step(modelOutput: Tensor, index: number, sample: Tensor, _noise: NoiseSource): Tensor {
    checkStepInputs(this.name, this.schedule, index, modelOutput, sample);
    const sigma = this.sigmas[index];
    const dt = this.sigmas[index + 1] - sigma;
    const original = this.predictOriginal(modelOutput, sample, sigma);
    const next = new Float32Array(sample.data.length);
    for (let i = 0; i < next.length; i++) {
      const derivative = (sample.data[i] - original[i]) / sigma;
      next[i] = sample.data[i] + derivative * dt;
    }
    this.lastOriginal = { data: original, shape: [...sample.shape] };
    return { data: next, shape: [...sample.shape] };
  }

  noiseScales(index: number): NoiseScales {
    checkScheduleIndex(this.name, this.schedule, index);
    return sigmaNoiseScales(this.sigmas[index]);
  }

  addNoise(clean: Tensor, noise: Tensor, index: number): Tensor {
    const scales = this.noiseScales(index);
    return scaleAndAdd(clean, scales.signal, noise, scales.noise);
  }
}
