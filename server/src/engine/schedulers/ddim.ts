import type { NoiseScales, NoiseSource, Scheduler } from '../scheduler.ts';
import type { Tensor } from '../tensor.ts';
import {
  alphaNoiseScales,
  leadingTimesteps,
  linspaceTimesteps,
  roundHalfToEven,
  scaleAndAdd,
  trailingTimesteps,
} from './schedule-math.ts';
import { type ResolvedSchedulerConfig, trainingAlphasCumprod } from './scheduler-config.ts';
import { checkScheduleIndex, checkStepCount, checkStepInputs, checkTimestepsInRange } from './step-checks.ts';

/**
 * DDIM with eta = 0 (deterministic), as diffusers' `DDIMScheduler`: timesteps per
 * `timestep_spacing` (linspace rounds to integers and ignores steps_offset; trailing ignores it
 * too), and the previous timestep is always t - T // N whatever the spacing, as diffusers does.
 */
export class DdimScheduler implements Scheduler {
  readonly name = 'ddim';
  readonly initNoiseSigma = 1;
  private readonly alphasCumprod: Float64Array;
  /** alpha-bar used past timestep 0: 1 with set_alpha_to_one, else alpha-bar_0. */
  private readonly finalAlphaCumprod: number;
  private schedule: number[] = [];
  private lastOriginal: Tensor | null = null;

  constructor(readonly config: ResolvedSchedulerConfig) {
    this.alphasCumprod = trainingAlphasCumprod(config);
    this.finalAlphaCumprod = config.set_alpha_to_one ? 1 : this.alphasCumprod[0];
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
        return linspaceTimesteps(trainSteps - 1, count).map(roundHalfToEven);
    }
  }

  scaleModelInput(sample: Tensor, index: number): Tensor {
    checkScheduleIndex(this.name, this.schedule, index);
    return sample;
  }

  /**
   * DDIM paper (arXiv 2010.02502) eq. 12 with sigma_t = 0. Glossary: alphaProduct = alpha_t,
   * previousAlphaProduct = alpha_{t-1} (both cumulative), original = predicted x_0,
   * epsilon = eps_theta(x_t, t), the result is x_{t-1} = sqrt(alpha_{t-1}) x_0 + sqrt(1 - alpha_{t-1}) eps.
   */
  step(modelOutput: Tensor, index: number, sample: Tensor, _noise: NoiseSource): Tensor {
    checkStepInputs(this.name, this.schedule, index, modelOutput, sample);
    const timestep = this.schedule[index];
    const previousTimestep = timestep - Math.floor(this.config.num_train_timesteps / this.schedule.length);
    const alphaProduct = this.alphasCumprod[timestep];
    const previousAlphaProduct = previousTimestep >= 0 ? this.alphasCumprod[previousTimestep] : this.finalAlphaCumprod;
    const signal = Math.sqrt(alphaProduct);
    const noiseLevel = Math.sqrt(1 - alphaProduct);
    const previousSignal = Math.sqrt(previousAlphaProduct);
    const previousNoiseLevel = Math.sqrt(1 - previousAlphaProduct);
    const { clip_sample: clip, clip_sample_range: range, prediction_type: prediction } = this.config;

    const original = new Float32Array(sample.data.length);
    const next = new Float32Array(sample.data.length);
    for (let i = 0; i < next.length; i++) {
      const x = sample.data[i];
      const output = modelOutput.data[i];
      let x0: number;
      let epsilon: number;
      if (prediction === 'epsilon') {
        x0 = (x - noiseLevel * output) / signal;
        epsilon = output;
      } else if (prediction === 'v_prediction') {
        x0 = signal * x - noiseLevel * output;
        epsilon = signal * output + noiseLevel * x;
      } else {
        x0 = output;
        epsilon = (x - signal * x0) / noiseLevel;
      }
      // Clipping changes x_0 only: diffusers keeps the unclipped epsilon (use_clipped_model_output off).
      if (clip) x0 = Math.min(Math.max(x0, -range), range);
      original[i] = x0;
      next[i] = previousSignal * x0 + previousNoiseLevel * epsilon;
    }
    this.lastOriginal = { data: original, shape: [...sample.shape] };
    return { data: next, shape: [...sample.shape] };
  }

  noiseScales(index: number): NoiseScales {
    checkScheduleIndex(this.name, this.schedule, index);
    return alphaNoiseScales(this.alphasCumprod[this.schedule[index]]);
  }

  addNoise(clean: Tensor, noise: Tensor, index: number): Tensor {
    const scales = this.noiseScales(index);
    return scaleAndAdd(clean, scales.signal, noise, scales.noise);
  }
}
