import type { SchedulerName } from '../scheduler.ts';
import { assertSameShape, type Tensor } from '../tensor.ts';

/** Checks a step count for `setTimesteps`: an integer in [1, max]. */
export function checkStepCount(name: SchedulerName, count: number, max: number): void {
  if (!Number.isInteger(count) || count < 1 || count > max) {
    throw new RangeError(`${name} scheduler: steps must be an integer in [1, ${max}], got ${count}`);
  }
}

/** Checks that the schedule is set and `index` points into it. */
export function checkScheduleIndex(name: SchedulerName, timesteps: readonly number[], index: number): void {
  if (timesteps.length === 0) {
    throw new Error(`${name} scheduler: call setTimesteps before stepping or adding noise`);
  }
  if (!Number.isInteger(index) || index < 0 || index >= timesteps.length) {
    throw new RangeError(`${name} scheduler: index must be an integer in [0, ${timesteps.length - 1}], got ${index}`);
  }
}

/** Checks the arguments of `step`: a valid index and a model output shaped like the sample. */
export function checkStepInputs(
  name: SchedulerName,
  timesteps: readonly number[],
  index: number,
  modelOutput: Tensor,
  sample: Tensor,
): void {
  checkScheduleIndex(name, timesteps, index);
  assertSameShape(modelOutput, sample, `${name} scheduler step`);
}

/** Checks that a new schedule stays on the training grid (a large steps_offset can push it off). */
export function checkTimestepsInRange(name: SchedulerName, timesteps: readonly number[], trainSteps: number): void {
  const outside = timesteps.find((timestep) => timestep < 0 || timestep > trainSteps - 1);
  if (outside !== undefined) {
    throw new RangeError(
      `${name} scheduler: timestep ${outside} is outside the training range [0, ${trainSteps - 1}]; ` +
        'lower steps_offset or the number of steps',
    );
  }
}
