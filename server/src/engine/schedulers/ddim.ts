import type { NoiseSource, SchedulerStepOutput } from '../scheduler.ts';
import type { Tensor } from '../tensor.ts';
import { BaseScheduler } from './base-scheduler.ts';
import { alphaNoiseScales, predictOriginal, spacedTimesteps, variancePreservingPrediction } from './schedule-math.ts';
import { checkStepInputs } from './step-checks.ts';

/**
 * DDIM with eta = 0 (deterministic), as diffusers' `DDIMScheduler`: timesteps per
 * `timestep_spacing` (linspace rounds to integers and ignores steps_offset; trailing ignores it
 * too), and the previous timestep is always t - T // N whatever the spacing, as diffusers does.
 */
export class DdimScheduler extends BaseScheduler {
  readonly name = 'ddim';
  readonly initNoiseSigma = 1;

  protected layOutTimesteps(count: number): number[] {
    const { timestep_spacing: spacing, num_train_timesteps: trainSteps, steps_offset: stepsOffset } = this.config;
    return spacedTimesteps(count, { spacing, trainSteps, stepsOffset, grid: 'steps', linspaceValues: 'integer' });
  }

  /**
   * DDIM paper (arXiv 2010.02502) eq. 12 with sigma_t = 0. Glossary: scales = (sqrt(alpha_t),
   * sqrt(1 - alpha_t)), previous = the same at alpha_{t-1} (alphas cumulative), x0 = predicted x_0,
   * the noise estimate = eps_theta(x_t, t); the result is
   * x_{t-1} = sqrt(alpha_{t-1}) x_0 + sqrt(1 - alpha_{t-1}) eps.
   */
  step(modelOutput: Tensor, index: number, sample: Tensor, _noise: NoiseSource): SchedulerStepOutput {
    checkStepInputs(this.name, this.schedule, index, modelOutput, sample);
    const timestep = this.schedule[index];
    const previousTimestep = timestep - Math.floor(this.config.num_train_timesteps / this.schedule.length);
    const scales = variancePreservingPrediction(alphaNoiseScales(this.alphasCumprod[timestep]));
    const previous = alphaNoiseScales(this.alphaCumprodAt(previousTimestep));
    const { clip_sample: clip, clip_sample_range: range, prediction_type: prediction } = this.config;
    const x0 = this.scratchBuffer(sample.data.length);
    predictOriginal(prediction, scales, modelOutput, sample, x0, clip ? range : null);

    // Clipping changes x_0 only: the noise estimate is the unclipped one (diffusers' pred_epsilon,
    // use_clipped_model_output off).
    const x = sample.data;
    const output = modelOutput.data;
    const next = new Float32Array(x.length);
    switch (prediction) {
      case 'epsilon':
        for (let i = 0; i < x.length; i++) next[i] = previous.signal * x0[i] + previous.noise * output[i];
        break;
      case 'v_prediction':
        for (let i = 0; i < x.length; i++) {
          next[i] = previous.signal * x0[i] + previous.noise * (scales.signal * output[i] + scales.noise * x[i]);
        }
        break;
      case 'sample':
        for (let i = 0; i < x.length; i++) {
          next[i] = previous.signal * x0[i] + previous.noise * ((x[i] - scales.signal * output[i]) / scales.noise);
        }
        break;
    }
    return {
      sample: { data: next, shape: [...sample.shape] },
      predictedOriginal: { data: Float32Array.from(x0), shape: [...sample.shape] },
    };
  }
}
