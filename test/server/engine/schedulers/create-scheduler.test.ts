import type { SchedulerConfig, SchedulerName } from '@pixels/server/engine/scheduler.ts';
import { createScheduler, SCHEDULER_CLASSES } from '@pixels/server/engine/schedulers/create-scheduler.ts';
import { PixelsError } from '@pixels/shared';
import { describe, expect, it } from 'vitest';

/** The error createScheduler throws, for checking its code and field. */
function errorOf(config: SchedulerConfig, override?: SchedulerName): PixelsError {
  try {
    createScheduler(config, override);
  } catch (error) {
    if (error instanceof PixelsError) return error;
    throw error;
  }
  throw new Error('createScheduler accepted the config');
}

// Scheduler configs as shipped with well-known models (fields as diffusers saves them).
const SD_COMMON = {
  beta_start: 0.00085,
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  num_train_timesteps: 1000,
} as const;
const SD15: SchedulerConfig = {
  _class_name: 'PNDMScheduler',
  _diffusers_version: '0.6.0',
  ...SD_COMMON,
  set_alpha_to_one: false,
  skip_prk_steps: true,
  steps_offset: 1,
  trained_betas: null,
  clip_sample: false,
};
const SD21: SchedulerConfig = { ...SD15, _class_name: 'DDIMScheduler', prediction_type: 'v_prediction' };
const SDXL_TURBO: SchedulerConfig = {
  ...SD15,
  _class_name: 'EulerAncestralDiscreteScheduler',
  interpolation_type: 'linear',
  prediction_type: 'epsilon',
  sample_max_value: 1,
  timestep_spacing: 'trailing',
  use_karras_sigmas: false,
};
const SD_TURBO: SchedulerConfig = { ...SDXL_TURBO, _class_name: 'EulerDiscreteScheduler' };
const LCM_DREAMSHAPER: SchedulerConfig = {
  _class_name: 'LCMScheduler',
  ...SD_COMMON,
  clip_sample: false,
  clip_sample_range: 1,
  dynamic_thresholding_ratio: 0.995,
  original_inference_steps: 50,
  prediction_type: 'epsilon',
  rescale_betas_zero_snr: false,
  sample_max_value: 1,
  set_alpha_to_one: true,
  steps_offset: 1,
  thresholding: false,
  timestep_scaling: 10,
  timestep_spacing: 'leading',
  trained_betas: null,
};

describe('createScheduler: invalid input', () => {
  it('names the allowed classes for an unknown _class_name', () => {
    const error = errorOf({ _class_name: 'FlowMatchEulerDiscreteScheduler' });
    expect(error.code).toBe('model_error');
    expect(error.field).toBe('scheduler_config._class_name');
    expect(error.message).toBe(
      `scheduler_config._class_name: expected one of ${Object.keys(SCHEDULER_CLASSES).join(', ')}, ` +
        'got "FlowMatchEulerDiscreteScheduler"; PIXELS has no sampler for this class, so use a model exported with one of these',
    );
    expect(() => createScheduler({ _class_name: 'toString' })).toThrow('got "toString"');
  });

  it('runs an unknown class when a scheduler is chosen explicitly', () => {
    expect(createScheduler({ _class_name: 'FlowMatchEulerDiscreteScheduler' }, 'euler').name).toBe('euler');
  });

  it('refuses an unknown override', () => {
    const error = errorOf(SD15, 'heun' as SchedulerName);
    expect(error.code).toBe('invalid_settings');
    expect(error.field).toBe('scheduler');
    expect(error.message).toBe('scheduler: expected one of ddim, euler, euler-ancestral, dpm++2m, lcm, got "heun"');
  });

  const invalidFields: [string, unknown, string][] = [
    ['beta_schedule', 'cosine', 'one of scaled_linear, linear, squaredcos_cap_v2, got "cosine"'],
    ['timestep_spacing', 'uniform', 'one of leading, trailing, linspace, got "uniform"'],
    ['prediction_type', 'flow_prediction', 'one of epsilon, v_prediction, sample, got "flow_prediction"'],
    ['num_train_timesteps', 0, 'an integer >= 2, got 0'],
    ['num_train_timesteps', '1000', 'an integer >= 2, got "1000"'],
    ['beta_start', 0, 'a number in (0, 1), got 0'],
    ['beta_end', 1.5, 'a number in (0, 1), got 1.5'],
    ['steps_offset', -1, 'an integer in [0, 999], got -1'],
    ['steps_offset', 0.5, 'an integer in [0, 999], got 0.5'],
    ['set_alpha_to_one', 'yes', 'true or false, got "yes"'],
    ['clip_sample', 1, 'true or false, got 1'],
    ['clip_sample_range', -1, 'a number > 0, got -1'],
    ['trained_betas', [0.1, 0.2, 0.3], 'null or 1000 numbers in (0, 1), got [0.1,0.2,0.3]'],
    ['original_inference_steps', 2000, 'an integer in [1, 1000], got 2000'],
    ['timestep_scaling', 0, 'a number > 0, got 0'],
  ];
  for (const [field, value, expected] of invalidFields) {
    it(`refuses ${field}: ${JSON.stringify(value)}`, () => {
      const error = errorOf({ ...SD15, [field]: value });
      expect(error.code).toBe('model_error');
      expect(error.field).toBe(`scheduler_config.${field}`);
      expect(error.message).toBe(`scheduler_config.${field}: expected ${expected}`);
    });
  }

  it('refuses options that change the math and that we do not implement, for the classes that read them', () => {
    expect(errorOf({ ...SD_TURBO, use_karras_sigmas: true }).message).toBe(
      'scheduler_config.use_karras_sigmas: true is not supported by the euler scheduler (supported: false); ' +
        "remove the field from the model's scheduler/scheduler_config.json or set it to a supported value",
    );
    // DDIMScheduler has no use_karras_sigmas: diffusers' from_config ignores it, so do we.
    expect(createScheduler({ ...SD_TURBO, use_karras_sigmas: true }, 'ddim').name).toBe('ddim');
    const dpm = { ...SD15, _class_name: 'DPMSolverMultistepScheduler' };
    expect(errorOf({ ...dpm, solver_order: 3 }).message).toContain(
      'scheduler_config.solver_order: 3 is not supported by the dpm++2m scheduler (supported: 2)',
    );
    expect(errorOf({ ...dpm, algorithm_type: 'sde-dpmsolver++' }).field).toBe('scheduler_config.algorithm_type');
    expect(errorOf({ ...LCM_DREAMSHAPER, rescale_betas_zero_snr: true }).field).toBe(
      'scheduler_config.rescale_betas_zero_snr',
    );
    expect(errorOf({ ...SD21, thresholding: true }).field).toBe('scheduler_config.thresholding');
    // diffusers rewrites DEIS's algorithm and UniPC's solver type to DPM-Solver++ midpoint itself.
    expect(createScheduler({ ...dpm, algorithm_type: 'deis', solver_type: 'bh2' }).name).toBe('dpm++2m');
  });
});

describe('createScheduler: classes and defaults', () => {
  it('maps each diffusers class to an algorithm', () => {
    const expected: Record<string, SchedulerName> = {
      DDIMScheduler: 'ddim',
      EulerDiscreteScheduler: 'euler',
      EulerAncestralDiscreteScheduler: 'euler-ancestral',
      DPMSolverMultistepScheduler: 'dpm++2m',
      LCMScheduler: 'lcm',
      PNDMScheduler: 'ddim',
      DDPMScheduler: 'ddim',
      LMSDiscreteScheduler: 'euler',
      HeunDiscreteScheduler: 'euler',
      KDPM2DiscreteScheduler: 'euler',
      KDPM2AncestralDiscreteScheduler: 'euler-ancestral',
      DPMSolverSinglestepScheduler: 'dpm++2m',
      DEISMultistepScheduler: 'dpm++2m',
      UniPCMultistepScheduler: 'dpm++2m',
      TCDScheduler: 'lcm',
    };
    for (const [className, name] of Object.entries(expected)) {
      expect([className, createScheduler({ ...SD15, _class_name: className }).name]).toEqual([className, name]);
    }
    expect(Object.keys(SCHEDULER_CLASSES).sort()).toEqual(Object.keys(expected).sort());
  });

  it('fills every field with its documented default', () => {
    expect(createScheduler({}).config).toEqual({
      num_train_timesteps: 1000,
      beta_start: 0.00085,
      beta_end: 0.012,
      beta_schedule: 'scaled_linear',
      trained_betas: null,
      prediction_type: 'epsilon',
      timestep_spacing: 'leading',
      steps_offset: 0,
      set_alpha_to_one: true,
      clip_sample: false,
      clip_sample_range: 1,
      original_inference_steps: 50,
      timestep_scaling: 10,
      lambda_min_clipped: Number.NEGATIVE_INFINITY,
    });
    expect(createScheduler({}).name).toBe('ddim');
  });

  it('defaults timestep_spacing per class, as diffusers does', () => {
    const spacing = (name: SchedulerName) => createScheduler({}, name).config.timestep_spacing;
    expect(
      ['ddim', 'euler', 'euler-ancestral', 'dpm++2m', 'lcm'].map((name) => spacing(name as SchedulerName)),
    ).toEqual(['leading', 'linspace', 'linspace', 'linspace', 'leading']);
  });

  it('runs the shipped configs of well-known models', () => {
    const timestepsFor = (config: SchedulerConfig, steps: number, override?: SchedulerName) => {
      const scheduler = createScheduler(config, override);
      scheduler.setTimesteps(steps);
      return [scheduler.name, scheduler.config.prediction_type, scheduler.timesteps];
    };
    expect(timestepsFor(SD15, 4)).toEqual(['ddim', 'epsilon', [751, 501, 251, 1]]);
    // Asking for Euler on SD 1.5 gets Euler's linspace default, as EulerDiscreteScheduler.from_config does.
    expect(timestepsFor(SD15, 4, 'euler')).toEqual(['euler', 'epsilon', [999, 666, 333, 0]]);
    expect(timestepsFor(SD21, 4)).toEqual(['ddim', 'v_prediction', [751, 501, 251, 1]]);
    expect(timestepsFor(SD_TURBO, 1)).toEqual(['euler', 'epsilon', [999]]);
    expect(timestepsFor(SDXL_TURBO, 4)).toEqual(['euler-ancestral', 'epsilon', [999, 749, 499, 249]]);
    expect(timestepsFor(LCM_DREAMSHAPER, 4)).toEqual(['lcm', 'epsilon', [999, 759, 499, 259]]);
  });
});
