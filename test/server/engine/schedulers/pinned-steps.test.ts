import type { NoiseSource, Scheduler, SchedulerConfig, SchedulerName } from '@pixels/server/engine/scheduler.ts';
import { createScheduler } from '@pixels/server/engine/schedulers/create-scheduler.ts';
import { type Tensor, tensor } from '@pixels/server/engine/tensor.ts';
import { describe, expect, it } from 'vitest';

// A deterministic loop with a known linear "model" (diffusers tests/schedulers style). Expected
// values come from an independent numpy transcription of each diffusers step function, float64,
// with the same model, start and noise, pinned to 1e-5.
const SD_CONFIG: SchedulerConfig = {
  beta_start: 0.00085,
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  steps_offset: 1,
  set_alpha_to_one: false,
  clip_sample: false,
};
const START = [0.9, -0.4, 1.3, 0.05, -1.1, 0.6, -0.25, 0.75];
const BIAS = [0.2, -0.1, 0.05, 0.4, -0.3, 0.15, 0, -0.05];
const SHAPE = [1, 2, 2, 2];

/** model(x_in) = 0.3 x_in + BIAS, read as epsilon or v per the config. */
function linearModel(input: Tensor): Tensor {
  return tensor(
    input.data.map((value, i) => 0.3 * value + BIAS[i]),
    input.shape,
  );
}

/** Noise k of a run: ((7 i + 3 k) mod 11 - 5) / 4 for element i. */
function fixedNoise(): NoiseSource {
  let draws = 0;
  return (shape) => {
    const step = draws++;
    return tensor(
      Float32Array.from({ length: 8 }, (_, i) => (((i * 7 + step * 3) % 11) - 5) / 4),
      shape,
    );
  };
}

interface Run {
  scheduler: Scheduler;
  /** The sample after each step. */
  trajectory: Float32Array[];
  /** The x0 estimate of the last step. */
  predictedOriginal: Tensor;
}

function run(name: SchedulerName, config: SchedulerConfig, count: number, stepsToRun: number): Run {
  const scheduler = createScheduler({ ...SD_CONFIG, ...config }, name);
  scheduler.setTimesteps(count);
  const noise = fixedNoise();
  let sample = tensor(
    Float32Array.from(START, (value) => value * scheduler.initNoiseSigma),
    SHAPE,
  );
  const trajectory: Float32Array[] = [];
  let predictedOriginal = sample;
  for (let index = 0; index < stepsToRun; index++) {
    const output = linearModel(scheduler.scaleModelInput(sample, index));
    ({ sample, predictedOriginal } = scheduler.step(output, index, sample, noise));
    trajectory.push(sample.data);
  }
  return { scheduler, trajectory, predictedOriginal };
}

function expectClose(actual: ArrayLike<number>, expected: readonly number[], tolerance = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  const errors = Array.from(actual, (value, i) => Math.abs(value - expected[i]) / Math.max(1, Math.abs(expected[i])));
  expect(Math.max(...errors)).toBeLessThan(tolerance);
}

describe('DDIM steps', () => {
  it('epsilon, 3 of 10 leading steps', () => {
    const { trajectory, predictedOriginal } = run('ddim', {}, 10, 3);
    expectClose(
      trajectory[2],
      [1.76793295, -0.76203886, 3.06342693, -0.73160058, -2.04226136, 1.14305829, -0.60963807, 1.93560523],
    );
    expectClose(
      predictedOriginal.data,
      [2.96076962, -1.24141598, 5.87802224, -2.44236978, -3.24631029, 1.86212397, -1.19484415, 3.91969977],
    );
  });

  it('v_prediction, 3 of 10 leading steps', () => {
    const { trajectory, predictedOriginal } = run('ddim', { prediction_type: 'v_prediction' }, 10, 3);
    expectClose(
      trajectory[2],
      [0.75437379, -0.33214098, 1.15708058, -0.06785938, -0.90633112, 0.49821147, -0.22522957, 0.68980186],
    );
    expectClose(
      predictedOriginal.data,
      [-0.19264182, 0.09626256, -0.04941504, -0.38324129, 0.28867096, -0.14439383, 0.00029176, 0.04702258],
    );
  });

  it('clips the x0 estimate with clip_sample, keeping the unclipped epsilon', () => {
    const unclipped = run('ddim', {}, 10, 1);
    const clipped = run('ddim', { clip_sample: true, clip_sample_range: 1.5 }, 10, 1);
    const x0 = unclipped.predictedOriginal.data;
    expect(Array.from(clipped.predictedOriginal.data)).toEqual(
      Array.from(x0, (value) => Math.min(Math.max(value, -1.5), 1.5)),
    );
    // x_prev = sqrt(a_prev) x0 + sqrt(1 - a_prev) eps, so only clipped elements move, by sqrt(a_prev) times the cut.
    const changed = Array.from(x0, (value) => Math.abs(value) > 1.5);
    expect(changed.some(Boolean) && !changed.every(Boolean)).toBe(true);
    changed.forEach((isClipped, i) => {
      if (!isClipped) expect(clipped.trajectory[0][i]).toBe(unclipped.trajectory[0][i]);
      else expect(clipped.trajectory[0][i]).not.toBe(unclipped.trajectory[0][i]);
    });
  });
});

describe('Euler steps', () => {
  it('epsilon, 3 of 10 linspace steps', () => {
    const { scheduler, trajectory, predictedOriginal } = run('euler', {}, 10, 3);
    expect(scheduler.initNoiseSigma).toBeCloseTo(14.614641229333639, 5);
    expectClose(
      trajectory[2],
      [6.89432666, -2.95438103, 12.3184012, -3.45872731, -7.87757847, 4.43157154, -2.46391152, 7.88567326],
    );
    expectClose(
      predictedOriginal.data,
      [4.80632279, -2.01287661, 9.59270351, -4.04732177, -5.25806028, 3.01931492, -1.95142391, 6.40897255],
    );
  });

  it('v_prediction, 3 of 10 linspace steps', () => {
    const { trajectory, predictedOriginal } = run('euler', { prediction_type: 'v_prediction' }, 10, 3);
    expectClose(
      trajectory[2],
      [2.36942272, -1.04438128, 3.60945246, -0.17270747, -2.85248366, 1.56657191, -0.70165041, 2.14408094],
    );
    expectClose(
      predictedOriginal.data,
      [-0.26246114, 0.12737854, -0.14843394, -0.39010122, 0.37443156, -0.19106781, 0.01926015, -0.00949931],
    );
  });

  it('uses sqrt(sigma_max^2 + 1) as the initial noise with leading spacing, sigma_max otherwise', () => {
    const leading = createScheduler({ ...SD_CONFIG, timestep_spacing: 'leading' }, 'euler');
    leading.setTimesteps(10);
    expect(leading.initNoiseSigma).toBeCloseTo(8.450064550829065, 9);
    const trailing = createScheduler({ ...SD_CONFIG, timestep_spacing: 'trailing' }, 'euler');
    trailing.setTimesteps(10);
    expect(trailing.initNoiseSigma).toBeCloseTo(14.614641229333639, 9);
  });
});

describe('Euler ancestral steps', () => {
  it('epsilon, 3 of 10 linspace steps with known noise', () => {
    const { trajectory, predictedOriginal } = run('euler-ancestral', {}, 10, 3);
    expectClose(
      trajectory[2],
      [-2.37213197, 2.68051097, 10.0596907, -1.99343313, -2.31401602, 0.89510376, -1.15452999, 5.90172932],
    );
    expectClose(
      predictedOriginal.data,
      [-2.96641788, 3.97508634, 6.5765804, -2.60579899, 0.62513089, -1.02132914, -0.50572546, 7.59337424],
    );
  });
});

describe('DPM-Solver++ 2M steps', () => {
  it('epsilon, all 5 linspace steps: first order, second order, first order at the end', () => {
    const { trajectory, predictedOriginal } = run('dpm++2m', {}, 5, 5);
    expectClose(
      trajectory[1],
      [2.605153598, -1.11227382, 4.742802443, -1.45029706, -2.956215503, 1.66841073, -0.951514894, 3.059619686],
    );
    expectClose(
      trajectory[2],
      [3.391957371, -1.438716305, 6.379130517, -2.220268564, -3.801624156, 2.158074458, -1.286311901, 4.168627071],
    );
    // The last step lands on sigma = 0: the result is the last x0 estimate.
    const final = [
      3.597976668, -1.510634295, 7.099106015, -2.896438043, -3.955194805, 2.265951442, -1.441770197, 4.723409602,
    ];
    expectClose(trajectory[4], final);
    expectClose(predictedOriginal.data, final);
  });

  it('v_prediction, all 5 linspace steps', () => {
    const { trajectory } = run('dpm++2m', { prediction_type: 'v_prediction' }, 5, 5);
    expectClose(
      trajectory[2],
      [0.598377367, -0.259538773, 1.002067422, -0.19099214, -0.699316497, 0.389308159, -0.198249554, 0.623578917],
    );
    expectClose(
      trajectory[4],
      [0.24716116, -0.097692531, 0.61838334, -0.411759389, -0.241301496, 0.146538797, -0.129440244, 0.443026662],
    );
  });
});

describe('LCM steps', () => {
  it('epsilon, all 4 steps: noise between steps, the denoised estimate at the end', () => {
    const { trajectory, predictedOriginal } = run('lcm', { set_alpha_to_one: true }, 4, 4);
    expectClose(
      trajectory[0],
      [0.226069027, -0.117455685, 2.39532097, -0.001585654, -1.334752965, 0.176183528, 0.387184697, 1.926049964],
    );
    const final = [
      -0.850394618, 1.037065667, 5.168066614, -2.613502768, -0.743034378, 0.08026289, -0.402326297, 3.901957209,
    ];
    expectClose(trajectory[3], final);
    expectClose(predictedOriginal.data, final);
  });

  it('mixes in the sample through c_skip when timestep_scaling makes t s small', () => {
    // timestep_scaling 0.001: t s = 0.999, 0.759, 0.499, 0.259, so c_skip = 0.25 / ((t s)^2 + 0.25) is large.
    const { trajectory } = run('lcm', { set_alpha_to_one: true, timestep_scaling: 0.001 }, 4, 4);
    expectClose(
      trajectory[0],
      [0.114665331, -0.071866877, 2.150039708, 0.129563319, -1.218212616, 0.107800315, 0.437749891, 1.756696628],
    );
    expectClose(
      trajectory[3],
      [-1.071137213, 1.342776011, 5.845883556, -2.416373704, -0.962538924, 0.147178525, -0.463569923, 4.36565991],
    );
  });
});
