import type { NoiseScales, NoiseSource, Scheduler } from '../scheduler.ts';
import type { Tensor } from '../tensor.ts';
import { addNoiseAtAlpha, alphaNoiseScales, numpyLinspace, scaleAndAdd } from './schedule-math.ts';
import { type ResolvedSchedulerConfig, trainingAlphasCumprod } from './scheduler-config.ts';
import { checkScheduleIndex, checkStepCount, checkStepInputs } from './step-checks.ts';

/** sigma_data of the consistency-model boundary condition (LCM paper, fixed at 0.5). */
const SIGMA_DATA = 0.5;

/**
 * Multistep latent consistency sampling (Luo et al. 2023, arXiv 2310.04378, Algorithm 3), as
 * diffusers' `LCMScheduler`. The schedule ignores timestep_spacing and steps_offset: it picks N
 * evenly spaced entries of the distillation schedule k-1, 2k-1, ..., T-1 (k = T //
 * original_inference_steps). Each step jumps to a clean estimate, then re-noises it to the next
 * timestep with fresh noise, except on the last step.
 *
 * img2img differs from diffusers' LCM pipeline, which passes `strength` into set_timesteps and so
 * runs all N steps within the lower part of the distillation schedule; here the engine truncates
 * the full schedule like every other scheduler (`truncatedStart`).
 */
export class LcmScheduler implements Scheduler {
  readonly name = 'lcm';
  readonly initNoiseSigma = 1;
  private readonly alphasCumprod: Float64Array;
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

  /** The denoised estimate of the last step (diffusers' `denoised`, what LCM pipelines decode). */
  get predictedOriginal(): Tensor | null {
    return this.lastOriginal;
  }

  setTimesteps(count: number): void {
    const originalSteps = this.config.original_inference_steps;
    checkStepCount(this.name, count, originalSteps);
    const skipping = Math.floor(this.config.num_train_timesteps / originalSteps);
    // The distillation schedule, noisiest first: originalSteps * k - 1, ..., 2k - 1, k - 1.
    const distillation = Array.from({ length: originalSteps }, (_, i) => (originalSteps - i) * skipping - 1);
    const picks = numpyLinspace(0, originalSteps, count, false).map(Math.floor);
    this.schedule = picks.map((pick) => distillation[pick]);
    this.lastOriginal = null;
  }

  scaleModelInput(sample: Tensor, index: number): Tensor {
    checkScheduleIndex(this.name, this.schedule, index);
    return sample;
  }

  /**
   * Glossary: alphaProduct = alpha-bar at t_n, previousAlphaProduct = at t_{n-1} (the next
   * timestep of the schedule), original = x0 from the model output, denoised = f_theta =
   * c_skip x + c_out x0 with c_skip = sigma_data^2 / ((t s)^2 + sigma_data^2) and
   * c_out = t s / sqrt((t s)^2 + sigma_data^2), s = timestep_scaling.
   */
  step(modelOutput: Tensor, index: number, sample: Tensor, noise: NoiseSource): Tensor {
    checkStepInputs(this.name, this.schedule, index, modelOutput, sample);
    const timestep = this.schedule[index];
    const isLast = index === this.schedule.length - 1;
    const previousTimestep = isLast ? timestep : this.schedule[index + 1];
    const alphaProduct = this.alphasCumprod[timestep];
    const previousAlphaProduct = previousTimestep >= 0 ? this.alphasCumprod[previousTimestep] : this.finalAlphaCumprod;
    const signal = Math.sqrt(alphaProduct);
    const noiseLevel = Math.sqrt(1 - alphaProduct);
    const scaledTimestep = timestep * this.config.timestep_scaling;
    const skip = SIGMA_DATA ** 2 / (scaledTimestep ** 2 + SIGMA_DATA ** 2);
    const out = scaledTimestep / Math.sqrt(scaledTimestep ** 2 + SIGMA_DATA ** 2);
    const { clip_sample: clip, clip_sample_range: range, prediction_type: prediction } = this.config;

    const denoised = new Float32Array(sample.data.length);
    for (let i = 0; i < denoised.length; i++) {
      const x = sample.data[i];
      const output = modelOutput.data[i];
      let x0: number;
      if (prediction === 'epsilon') x0 = (x - noiseLevel * output) / signal;
      else if (prediction === 'v_prediction') x0 = signal * x - noiseLevel * output;
      else x0 = output;
      if (clip) x0 = Math.min(Math.max(x0, -range), range);
      denoised[i] = out * x0 + skip * x;
    }
    this.lastOriginal = { data: denoised, shape: [...sample.shape] };
    // The last step returns the clean estimate; one-step sampling therefore draws no noise.
    if (isLast) return { data: Float32Array.from(denoised), shape: [...sample.shape] };
    return addNoiseAtAlpha(this.lastOriginal, noise(sample.shape), previousAlphaProduct);
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
