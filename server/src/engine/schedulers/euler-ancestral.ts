import type { NoiseSource, SchedulerName, SchedulerStepOutput } from '../scheduler.ts';
import type { Tensor } from '../tensor.ts';
import { EulerScheduler } from './euler.ts';
import { checkStepInputs } from './step-checks.ts';

/**
 * Euler ancestral, as diffusers' `EulerAncestralDiscreteScheduler`: the Euler schedule, input
 * scaling and `addNoise`, but each step lands below the next noise level and adds fresh noise
 * back up to it. Unlike diffusers we draw no noise on a step whose added noise is zero (the last).
 */
export class EulerAncestralScheduler extends EulerScheduler {
  override readonly name: SchedulerName = 'euler-ancestral';

  /**
   * Glossary (k-diffusion `sample_euler_ancestral`): sigmaFrom = sigma_i, sigmaTo = sigma_{i+1},
   * sigmaUp = the noise added, sigmaDown = the level the deterministic Euler step reaches,
   * sigmaDown^2 + sigmaUp^2 = sigmaTo^2.
   */
  override step(modelOutput: Tensor, index: number, sample: Tensor, noise: NoiseSource): SchedulerStepOutput {
    checkStepInputs(this.name, this.timesteps, index, modelOutput, sample);
    const sigmaFrom = this.sigmas[index];
    const sigmaTo = this.sigmas[index + 1];
    const sigmaUp = Math.sqrt((sigmaTo ** 2 * (sigmaFrom ** 2 - sigmaTo ** 2)) / sigmaFrom ** 2);
    // max(0, ·) guards a rounding-negative square when sigmaUp ≈ sigmaTo.
    const sigmaDown = Math.sqrt(Math.max(sigmaTo ** 2 - sigmaUp ** 2, 0));
    const predictedOriginal = this.predictOriginal(modelOutput, sample, index);
    const original = predictedOriginal.data;
    const fresh = sigmaUp > 0 ? noise(sample.shape).data : null;
    const next = new Float32Array(sample.data.length);
    for (let i = 0; i < next.length; i++) {
      const derivative = (sample.data[i] - original[i]) / sigmaFrom;
      const deterministic = sample.data[i] + derivative * (sigmaDown - sigmaFrom);
      next[i] = fresh ? deterministic + fresh[i] * sigmaUp : deterministic;
    }
    return { sample: { data: next, shape: [...sample.shape] }, predictedOriginal };
  }
}
