import { PixelsError } from '@pixels/shared';
import { SCHEDULER_NAMES, type Scheduler, type SchedulerConfig, type SchedulerName } from '../scheduler.ts';
import { DdimScheduler } from './ddim.ts';
import { DpmSolverMultistepScheduler } from './dpm-solver-multistep.ts';
import { EulerScheduler } from './euler.ts';
import { EulerAncestralScheduler } from './euler-ancestral.ts';
import { LcmScheduler } from './lcm.ts';
import { resolveSchedulerConfig } from './scheduler-config.ts';

/**
 * diffusers class names we run, each with our algorithm. The first five are implemented as such;
 * the others are stand-ins sharing the class's parametrisation and timestep grid, so a model
 * shipped with one of them still samples correctly, with a different (but sound) solver.
 */
export const SCHEDULER_CLASSES: Readonly<Record<string, SchedulerName>> = Object.freeze({
  DDIMScheduler: 'ddim',
  EulerDiscreteScheduler: 'euler',
  EulerAncestralDiscreteScheduler: 'euler-ancestral',
  DPMSolverMultistepScheduler: 'dpm++2m',
  LCMScheduler: 'lcm',
  // PLMS (SD 1.x's default) is a 4th-order multistep method on DDIM's leading + offset grid with
  // the same alpha-bar parametrisation and set_alpha_to_one; DDIM is its first-order member.
  PNDMScheduler: 'ddim',
  // DDIM with eta = 0 is the deterministic sampler of the same DDPM-trained model.
  DDPMScheduler: 'ddim',
  // k-diffusion samplers in sigma space with the same input scaling and linspace default.
  LMSDiscreteScheduler: 'euler',
  HeunDiscreteScheduler: 'euler',
  KDPM2DiscreteScheduler: 'euler',
  KDPM2AncestralDiscreteScheduler: 'euler-ancestral',
  // Other exponential-integrator multistep solvers on the same VP schedule.
  DPMSolverSinglestepScheduler: 'dpm++2m',
  DEISMultistepScheduler: 'dpm++2m',
  UniPCMultistepScheduler: 'dpm++2m',
  // Trajectory consistency distillation shares LCM's distillation schedule and boundary condition.
  TCDScheduler: 'lcm',
});

/** Used when a config names no class (hand-written configs, the built-in model). */
export const DEFAULT_SCHEDULER_CLASS = 'DDIMScheduler';

/** The algorithm we run for a diffusers `_class_name`; absent means DEFAULT_SCHEDULER_CLASS. */
export function schedulerNameForClass(className: unknown): SchedulerName {
  const name = className ?? DEFAULT_SCHEDULER_CLASS;
  if (typeof name === 'string' && Object.hasOwn(SCHEDULER_CLASSES, name)) return SCHEDULER_CLASSES[name];
  throw new PixelsError(
    'model_error',
    `scheduler_config._class_name: expected one of ${Object.keys(SCHEDULER_CLASSES).join(', ')}, ` +
      `got ${JSON.stringify(className)}; PIXELS has no sampler for this class, so use a model exported with one of these`,
    'scheduler_config._class_name',
  );
}

/**
 * Builds the scheduler for a model's scheduler_config.json, like diffusers'
 * `<Class>.from_config(config)`: the algorithm comes from `_class_name` unless `override` names
 * one, missing fields take the defaults documented on ResolvedSchedulerConfig. Call
 * `setTimesteps` before use.
 * @throws PixelsError('model_error') for an unknown class or an invalid or unsupported field,
 *   PixelsError('invalid_settings') for an unknown override
 */
export function createScheduler(config: SchedulerConfig, override?: SchedulerName): Scheduler {
  if (override !== undefined && !SCHEDULER_NAMES.includes(override)) {
    throw new PixelsError(
      'invalid_settings',
      `scheduler: expected one of ${SCHEDULER_NAMES.join(', ')}, got ${JSON.stringify(override)}`,
      'scheduler',
    );
  }
  const name = override ?? schedulerNameForClass(config._class_name);
  const resolved = resolveSchedulerConfig(config, name);
  switch (name) {
    case 'ddim':
      return new DdimScheduler(resolved);
    case 'euler':
      return new EulerScheduler(resolved);
    case 'euler-ancestral':
      return new EulerAncestralScheduler(resolved);
    case 'dpm++2m':
      return new DpmSolverMultistepScheduler(resolved);
    case 'lcm':
      return new LcmScheduler(resolved);
  }
}
