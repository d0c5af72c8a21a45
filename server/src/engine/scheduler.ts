import type { Tensor } from './tensor.ts';

/** The fields of a diffusers `scheduler_config.json` that our schedulers read. */
export interface SchedulerConfig {
  _class_name?: string;
  num_train_timesteps?: number; // default 1000
  beta_start?: number; // default 0.00085
  beta_end?: number; // default 0.012
  beta_schedule?: 'scaled_linear' | 'linear' | 'squaredcos_cap_v2'; // default scaled_linear
  trained_betas?: number[] | null;
  prediction_type?: 'epsilon' | 'v_prediction' | 'sample'; // default epsilon
  timestep_spacing?: 'leading' | 'trailing' | 'linspace'; // default per class as diffusers: leading (DDIM, LCM), linspace (others)
  steps_offset?: number; // default 0 (SD configs set 1)
  set_alpha_to_one?: boolean; // DDIM, default true (SD configs set false)
  clip_sample?: boolean; // DDIM, LCM; default false (diffusers' DDIM class says true, its SD pipelines force false)
  clip_sample_range?: number;
  original_inference_steps?: number; // LCM, default 50
  timestep_scaling?: number; // LCM, default 10
  [key: string]: unknown;
}

export const SCHEDULER_NAMES = ['ddim', 'euler', 'euler-ancestral', 'dpm++2m', 'lcm'] as const;
export type SchedulerName = (typeof SCHEDULER_NAMES)[number];

/** Forward diffusion is linear: noised = signal * clean + noise * n. */
export interface NoiseScales {
  signal: number;
  noise: number;
}

/** What one `step` computed: the sample at the next timestep and the clean estimate it came from. */
export interface SchedulerStepOutput {
  /** x_{t-1} (diffusers' `prev_sample`). */
  sample: Tensor;
  /** The predicted clean sample x0 (diffusers' `pred_original_sample`; LCM's `denoised`), for previews. */
  predictedOriginal: Tensor;
}

/**
 * Draws standard normal noise of a shape (seeded; used by ancestral and LCM steps), into `into`
 * when given (it must hold the shape's element count), else into a new array.
 */
export type NoiseSource = (shape: readonly number[], into?: Float32Array) => Tensor;

/**
 * A diffusion sampler with diffusers semantics. `setTimesteps` resets all state; `step` must be
 * called once per timestep, in order.
 */
export interface Scheduler {
  readonly name: SchedulerName;
  readonly config: Readonly<
    Required<Pick<SchedulerConfig, 'num_train_timesteps' | 'prediction_type' | 'timestep_spacing' | 'steps_offset'>>
  >;
  /** Timesteps of the current schedule, first (noisiest) to last. */
  readonly timesteps: readonly number[];
  /** Initial noise scale: the latent at timesteps[0] is clean*... + noise*initNoiseSigma for pure noise. */
  readonly initNoiseSigma: number;
  /** Builds the schedule for `count` inference steps and clears state. */
  setTimesteps(count: number): void;
  /** Scales the model input at step `index` (Euler family divides by sqrt(sigma^2 + 1)). */
  scaleModelInput(sample: Tensor, index: number): Tensor;
  /** One denoising step from timesteps[index] to the next. */
  step(modelOutput: Tensor, index: number, sample: Tensor, noise: NoiseSource): SchedulerStepOutput;
  /** The coefficients of `addNoise` at timesteps[index], for fused in-place mixing. */
  noiseScales(index: number): NoiseScales;
  /**
   * Noises a clean latent to the level of timesteps[index] (the schedule must be set), in the
   * scheduler's own parametrisation (so `step(…, index, addNoise(x0, n, index))` is consistent).
   */
  addNoise(clean: Tensor, noise: Tensor, index: number): Tensor;
}
