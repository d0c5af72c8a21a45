import type { NoiseSource, SchedulerStepOutput } from '../scheduler.ts';
import type { Tensor } from '../tensor.ts';
import { BaseScheduler } from './base-scheduler.ts';
import {
  alphaNoiseScales,
  type PredictionScales,
  type PredictionType,
  predictOriginalAt,
  spacedTimesteps,
  variancePreservingPrediction,
} from './schedule-math.ts';
import { checkStepInputs } from './step-checks.ts';

/** The noise estimate eps from the raw output, unclipped (diffusers' `pred_epsilon`). */
function predictNoiseAt(prediction: PredictionType, scales: PredictionScales, x: number, output: number): number {
  switch (prediction) {
    case 'epsilon':
      return output;
    case 'v_prediction':
      return scales.signal * output + scales.noise * x;
    case 'sample':
      return (x - scales.signal * output) / scales.noise;
  }
}

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
    const clipRange = clip ? range : null;

    const original = new Float32Array(sample.data.length);
    const next = new Float32Array(sample.data.length);
    for (let i = 0; i < next.length; i++) {
      const x = sample.data[i];
      const output = modelOutput.data[i];
      // Clipping changes x_0 only: diffusers keeps the unclipped epsilon (use_clipped_model_output off).
      const x0 = predictOriginalAt(prediction, scales, x, output, clipRange);
      original[i] = x0;
      next[i] = previous.signal * x0 + previous.noise * predictNoiseAt(prediction, scales, x, output);
    }
    return {
      sample: { data: next, shape: [...sample.shape] },
      predictedOriginal: { data: original, shape: [...sample.shape] },
    };
  }
}
