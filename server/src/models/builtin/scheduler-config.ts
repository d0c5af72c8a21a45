/** Stable Diffusion 1.x's DDIM configuration, as diffusers writes `scheduler/scheduler_config.json`. */
export const BUILTIN_SCHEDULER_CONFIG = Object.freeze({
  _class_name: 'DDIMScheduler',
  _diffusers_version: '0.30.0',
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  beta_start: 0.00085,
  clip_sample: false,
  num_train_timesteps: 1000,
  prediction_type: 'epsilon',
  set_alpha_to_one: false,
  steps_offset: 1,
  timestep_spacing: 'leading',
  trained_betas: null,
});
