import { PixelsError } from '@pixels/shared';
import type { SchedulerConfig, SchedulerName } from '../scheduler.ts';
import {
  BETA_SCHEDULES,
  type BetaSchedule,
  computeBetas,
  cumulativeAlphas,
  PREDICTION_TYPES,
  type PredictionType,
  TIMESTEP_SPACINGS,
  type TimestepSpacing,
} from './schedule-math.ts';

/** A scheduler_config.json with every field our schedulers read filled in and checked. */
export interface ResolvedSchedulerConfig {
  /** Training timesteps T; default 1000. */
  readonly num_train_timesteps: number;
  /** Default 0.00085 (Stable Diffusion; diffusers' DDIM/Euler/DPM classes default to 0.0001). */
  readonly beta_start: number;
  /** Default 0.012 (Stable Diffusion; diffusers' DDIM/Euler/DPM classes default to 0.02). */
  readonly beta_end: number;
  /** Default scaled_linear (Stable Diffusion; diffusers' DDIM/Euler/DPM classes default to linear). */
  readonly beta_schedule: BetaSchedule;
  /** Default null; when given, T values in (0, 1) replacing the beta schedule. */
  readonly trained_betas: readonly number[] | null;
  /** Default epsilon. */
  readonly prediction_type: PredictionType;
  /** Default per algorithm, as diffusers' classes: leading for DDIM and LCM, linspace for the others. */
  readonly timestep_spacing: TimestepSpacing;
  /** Added to leading timesteps; default 0 (Stable Diffusion configs set 1), in [0, T). */
  readonly steps_offset: number;
  /** DDIM, LCM: the last step goes to alpha-bar 1 instead of alpha-bar_0; default true. */
  readonly set_alpha_to_one: boolean;
  /**
   * DDIM, LCM: clamp the x0 estimate to ±clip_sample_range; default false. diffusers' DDIM class
   * defaults to true, but its Stable Diffusion pipelines force false (latents are not in [-1, 1]),
   * and PLMS configs mapped to DDIM omit the field; an explicit true is honoured.
   */
  readonly clip_sample: boolean;
  /** Default 1, > 0. */
  readonly clip_sample_range: number;
  /** LCM: steps of the distillation schedule; default 50, in [1, T]. */
  readonly original_inference_steps: number;
  /** LCM: timestep multiplier in the boundary-condition scalings; default 10, > 0. */
  readonly timestep_scaling: number;
  /** DPM-Solver++: drop timesteps whose log-SNR lambda is below this; default -Infinity (none). */
  readonly lambda_min_clipped: number;
}

const DIFFUSERS_DEFAULT_SPACING: Readonly<Record<SchedulerName, TimestepSpacing>> = Object.freeze({
  ddim: 'leading',
  euler: 'linspace',
  'euler-ancestral': 'linspace',
  'dpm++2m': 'linspace',
  lcm: 'leading',
});

/**
 * Options diffusers offers that change the math and that we do not implement. A config that sets
 * one of them to anything but the listed values is refused rather than run differently; only the
 * algorithms whose diffusers class reads the field check it (from_config ignores the others).
 */
const UNSUPPORTED_OPTIONS: readonly {
  field: string;
  allowed: readonly unknown[];
  algorithms: readonly SchedulerName[];
}[] = Object.freeze([
  {
    field: 'rescale_betas_zero_snr',
    allowed: [false],
    algorithms: ['ddim', 'euler', 'euler-ancestral', 'dpm++2m', 'lcm'],
  },
  { field: 'thresholding', allowed: [false], algorithms: ['ddim', 'dpm++2m', 'lcm'] },
  { field: 'use_karras_sigmas', allowed: [false], algorithms: ['euler', 'dpm++2m'] },
  { field: 'use_exponential_sigmas', allowed: [false], algorithms: ['euler', 'dpm++2m'] },
  { field: 'use_beta_sigmas', allowed: [false], algorithms: ['euler', 'dpm++2m'] },
  { field: 'final_sigmas_type', allowed: ['zero'], algorithms: ['euler', 'dpm++2m'] },
  { field: 'interpolation_type', allowed: ['linear'], algorithms: ['euler'] },
  { field: 'timestep_type', allowed: ['discrete'], algorithms: ['euler'] },
  { field: 'solver_order', allowed: [2], algorithms: ['dpm++2m'] },
  // diffusers itself rewrites DEIS's 'deis' to dpmsolver++ and UniPC/DEIS solver types to midpoint.
  { field: 'algorithm_type', allowed: ['dpmsolver++', 'deis'], algorithms: ['dpm++2m'] },
  { field: 'solver_type', allowed: ['midpoint', 'logrho', 'bh1', 'bh2'], algorithms: ['dpm++2m'] },
  { field: 'variance_type', allowed: [null], algorithms: ['dpm++2m'] },
  { field: 'use_lu_lambdas', allowed: [false], algorithms: ['dpm++2m'] },
  { field: 'use_flow_sigmas', allowed: [false], algorithms: ['dpm++2m'] },
  { field: 'use_dynamic_shifting', allowed: [false], algorithms: ['dpm++2m'] },
]);

function configError(field: string, expected: string, actual: unknown): PixelsError {
  return new PixelsError(
    'model_error',
    `scheduler_config.${field}: expected ${expected}, got ${JSON.stringify(actual)}`,
    `scheduler_config.${field}`,
  );
}

function readNumber(
  config: SchedulerConfig,
  field: string,
  fallback: number,
  isValid: (value: number) => boolean,
  expected: string,
): number {
  const value = config[field];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || !isValid(value))
    throw configError(field, expected, value);
  return value;
}

function readBoolean(config: SchedulerConfig, field: string, fallback: boolean): boolean {
  const value = config[field];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'boolean') throw configError(field, 'true or false', value);
  return value;
}

function readChoice<T extends string>(config: SchedulerConfig, field: string, choices: readonly T[], fallback: T): T {
  const value = config[field];
  if (value === undefined || value === null) return fallback;
  if (!choices.includes(value as T)) throw configError(field, `one of ${choices.join(', ')}`, value);
  return value as T;
}

function readTrainedBetas(config: SchedulerConfig, trainSteps: number): readonly number[] | null {
  const value = config.trained_betas;
  if (value === undefined || value === null) return null;
  const isValid =
    Array.isArray(value) &&
    value.length === trainSteps &&
    value.every((beta) => typeof beta === 'number' && beta > 0 && beta < 1);
  if (!isValid) throw configError('trained_betas', `null or ${trainSteps} numbers in (0, 1)`, value);
  return Object.freeze([...(value as number[])]);
}

function refuseUnsupportedOptions(config: SchedulerConfig, name: SchedulerName): void {
  for (const { field, allowed, algorithms } of UNSUPPORTED_OPTIONS) {
    const value = config[field];
    if (value === undefined || !algorithms.includes(name) || allowed.includes(value)) continue;
    throw new PixelsError(
      'model_error',
      `scheduler_config.${field}: ${JSON.stringify(value)} is not supported by the ${name} scheduler ` +
        `(supported: ${allowed.map((option) => JSON.stringify(option)).join(', ')}); ` +
        "remove the field from the model's scheduler/scheduler_config.json or set it to a supported value",
      `scheduler_config.${field}`,
    );
  }
}

/**
 * Fills in the defaults for `name` and checks every field it reads, as diffusers'
 * `from_config` would (fields of other scheduler classes are ignored).
 * @throws PixelsError('model_error') naming the field, what was expected and what was found
 */
export function resolveSchedulerConfig(config: SchedulerConfig, name: SchedulerName): ResolvedSchedulerConfig {
  refuseUnsupportedOptions(config, name);
  const isPositiveInteger = (value: number) => Number.isInteger(value) && value >= 1;
  const isBeta = (value: number) => value > 0 && value < 1;
  const trainSteps = readNumber(
    config,
    'num_train_timesteps',
    1000,
    (value) => isPositiveInteger(value) && value >= 2,
    'an integer >= 2',
  );
  return Object.freeze({
    num_train_timesteps: trainSteps,
    beta_start: readNumber(config, 'beta_start', 0.00085, isBeta, 'a number in (0, 1)'),
    beta_end: readNumber(config, 'beta_end', 0.012, isBeta, 'a number in (0, 1)'),
    beta_schedule: readChoice(config, 'beta_schedule', BETA_SCHEDULES, 'scaled_linear'),
    trained_betas: readTrainedBetas(config, trainSteps),
    prediction_type: readChoice(config, 'prediction_type', PREDICTION_TYPES, 'epsilon'),
    timestep_spacing: readChoice(config, 'timestep_spacing', TIMESTEP_SPACINGS, DIFFUSERS_DEFAULT_SPACING[name]),
    steps_offset: readNumber(
      config,
      'steps_offset',
      0,
      (value) => Number.isInteger(value) && value >= 0 && value < trainSteps,
      `an integer in [0, ${trainSteps - 1}]`,
    ),
    set_alpha_to_one: readBoolean(config, 'set_alpha_to_one', true),
    clip_sample: readBoolean(config, 'clip_sample', false),
    clip_sample_range: readNumber(config, 'clip_sample_range', 1, (value) => value > 0, 'a number > 0'),
    original_inference_steps: readNumber(
      config,
      'original_inference_steps',
      50,
      (value) => isPositiveInteger(value) && value <= trainSteps,
      `an integer in [1, ${trainSteps}]`,
    ),
    timestep_scaling: readNumber(config, 'timestep_scaling', 10, (value) => value > 0, 'a number > 0'),
    lambda_min_clipped: readNumber(config, 'lambda_min_clipped', Number.NEGATIVE_INFINITY, () => true, 'a number'),
  });
}

/** The training noise schedule alpha-bar_t, t = 0..T-1, of a resolved config. */
export function trainingAlphasCumprod(config: ResolvedSchedulerConfig): Float64Array {
  return cumulativeAlphas(
    computeBetas({
      schedule: config.beta_schedule,
      trainSteps: config.num_train_timesteps,
      betaStart: config.beta_start,
      betaEnd: config.beta_end,
      trainedBetas: config.trained_betas,
    }),
  );
}
