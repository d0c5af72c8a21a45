import type { NoiseSource, SchedulerStepOutput } from '../scheduler.ts';
import type { Tensor } from '../tensor.ts';
import { BaseScheduler } from './base-scheduler.ts';
import {
  addNoiseAtScales,
  alphaNoiseScales,
  numpyLinspace,
  predictOriginal,
  variancePreservingPrediction,
} from './schedule-math.ts';
import { checkStepInputs } from './step-checks.ts';

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
export class LcmScheduler extends BaseScheduler {
  readonly name = 'lcm';
  readonly initNoiseSigma = 1;

  protected override get maxStepCount(): number {
    return this.config.original_inference_steps;
  }

  protected layOutTimesteps(count: number): number[] {
    const originalSteps = this.config.original_inference_steps;
    const skipping = Math.floor(this.config.num_train_timesteps / originalSteps);
    // The distillation schedule, noisiest first: originalSteps * k - 1, ..., 2k - 1, k - 1.
    const distillation = Array.from({ length: originalSteps }, (_, i) => (originalSteps - i) * skipping - 1);
    const picks = numpyLinspace(0, originalSteps, count, false).map(Math.floor);
    return picks.map((pick) => distillation[pick]);
  }

  /**
   * Glossary: scales = the noise scales at t_n, previousAlphaProduct = alpha-bar at t_{n-1} (the next
   * timestep of the schedule), x0 = the clean sample read from the model output, denoised =
   * f_theta = c_skip x + c_out x0 with c_skip = sigma_data^2 / ((t s)^2 + sigma_data^2) and
   * c_out = t s / sqrt((t s)^2 + sigma_data^2), s = timestep_scaling. The predicted original is
   * `denoised`, what LCM pipelines decode.
   */
  step(modelOutput: Tensor, index: number, sample: Tensor, noise: NoiseSource): SchedulerStepOutput {
    checkStepInputs(this.name, this.schedule, index, modelOutput, sample);
    const timestep = this.schedule[index];
    const isLast = index === this.schedule.length - 1;
    const previousTimestep = isLast ? timestep : this.schedule[index + 1];
    const previousAlphaProduct = this.alphaCumprodAt(previousTimestep);
    const scales = variancePreservingPrediction(alphaNoiseScales(this.alphasCumprod[timestep]));
    const scaledTimestep = timestep * this.config.timestep_scaling;
    const skip = SIGMA_DATA ** 2 / (scaledTimestep ** 2 + SIGMA_DATA ** 2);
    const out = scaledTimestep / Math.sqrt(scaledTimestep ** 2 + SIGMA_DATA ** 2);
    const { clip_sample: clip, clip_sample_range: range, prediction_type: prediction } = this.config;
    const x0 = this.scratchBuffer(sample.data.length);
    predictOriginal(prediction, scales, modelOutput, sample, x0, clip ? range : null);

    const x = sample.data;
    const denoised = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) denoised[i] = out * x0[i] + skip * x[i];
    const predictedOriginal = { data: denoised, shape: [...sample.shape] };
    // The last step returns the clean estimate; one-step sampling therefore draws no noise.
    const next = isLast
      ? { data: Float32Array.from(denoised), shape: [...sample.shape] }
      : addNoiseAtScales(predictedOriginal, noise(sample.shape), alphaNoiseScales(previousAlphaProduct));
    return { sample: next, predictedOriginal };
  }
}
