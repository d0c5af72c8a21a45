import { createNoise, gaussianTensor } from '@pixels/server/engine/noise.ts';
import type { NoiseSource, Scheduler, SchedulerConfig, SchedulerName } from '@pixels/server/engine/scheduler.ts';
import { createScheduler } from '@pixels/server/engine/schedulers/create-scheduler.ts';
import { truncatedStart } from '@pixels/server/engine/schedulers/schedule-math.ts';
import { type Tensor, tensor, zeros } from '@pixels/server/engine/tensor.ts';
import { describe, expect, it } from 'vitest';

// One suite run against every scheduler (diffusers tests/schedulers/test_schedulers.py style). It
// uses only the Scheduler interface: the noise level of index i is read back through addNoise and
// scaleModelInput, so the exact-oracle model is the same for every parametrisation.
const SD: SchedulerConfig = { beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear' };
const CASES: { name: SchedulerName; label: string; config: SchedulerConfig }[] = [
  { name: 'ddim', label: 'leading, offset 1', config: { ...SD, steps_offset: 1 } },
  { name: 'ddim', label: 'trailing', config: { ...SD, timestep_spacing: 'trailing' } },
  { name: 'euler', label: 'leading, offset 1', config: { ...SD, timestep_spacing: 'leading', steps_offset: 1 } },
  { name: 'euler', label: 'linspace', config: SD },
  { name: 'euler', label: 'trailing', config: { ...SD, timestep_spacing: 'trailing' } },
  { name: 'euler-ancestral', label: 'linspace', config: SD },
  { name: 'euler-ancestral', label: 'trailing', config: { ...SD, timestep_spacing: 'trailing' } },
  { name: 'dpm++2m', label: 'linspace', config: SD },
  { name: 'dpm++2m', label: 'leading, offset 1', config: { ...SD, timestep_spacing: 'leading', steps_offset: 1 } },
  { name: 'lcm', label: 'original 50', config: { ...SD, steps_offset: 1 } },
];
const PREDICTIONS = ['epsilon', 'v_prediction', 'sample'] as const;
type Prediction = (typeof PREDICTIONS)[number];
const STEPS = 10;
const SHAPE = [1, 4, 4, 4];
const CLEAN = tensor(
  Float32Array.from({ length: 64 }, (_, i) => Math.sin(i * 1.7) * 0.9),
  SHAPE,
);
const NOISE = gaussianTensor(7, SHAPE);
const isStochastic = (name: SchedulerName) => name === 'euler-ancestral' || name === 'lcm';

/** The scaled model input at index i is signal * x0 + noise * epsilon, with signal^2 + noise^2 = 1. */
function levels(scheduler: Scheduler, index: number): { signal: number; noise: number } {
  const one = tensor(Float32Array.of(1), [1]);
  const zero = zeros([1]);
  return {
    signal: scheduler.scaleModelInput(scheduler.addNoise(one, zero, index), index).data[0],
    noise: scheduler.scaleModelInput(scheduler.addNoise(zero, one, index), index).data[0],
  };
}

type Model = (input: Tensor, index: number) => Tensor;

/** Writes an epsilon estimate in the configured parametrisation. */
function fromEpsilon(prediction: Prediction, signal: number, noise: number, input: number, epsilon: number): number {
  if (prediction === 'epsilon') return epsilon;
  if (prediction === 'v_prediction') return (epsilon - noise * input) / signal;
  return (input - noise * epsilon) / signal;
}

/** The true epsilon / v / x0 of a latent noised from `clean`. */
function oracle(scheduler: Scheduler, prediction: Prediction, clean: Tensor): Model {
  return (input, index) => {
    const { signal, noise } = levels(scheduler, index);
    return tensor(
      input.data.map((value, i) =>
        fromEpsilon(prediction, signal, noise, value, (value - signal * clean.data[i]) / noise),
      ),
      input.shape,
    );
  };
}

/** A fixed, imperfect epsilon model, converted to the configured parametrisation. */
function imperfect(scheduler: Scheduler, prediction: Prediction): Model {
  return (input, index) => {
    const { signal, noise } = levels(scheduler, index);
    return tensor(
      input.data.map((value, i) =>
        fromEpsilon(prediction, signal, noise, value, 0.6 * value + 0.1 * Math.cos(i + index)),
      ),
      input.shape,
    );
  };
}

function denoise(scheduler: Scheduler, model: Model, start: Tensor, from: number, noise: NoiseSource): Tensor {
  let sample = start;
  for (let index = from; index < scheduler.timesteps.length; index++) {
    sample = scheduler.step(model(scheduler.scaleModelInput(sample, index), index), index, sample, noise).sample;
  }
  return sample;
}

function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return worst;
}

function standardDeviation(values: ArrayLike<number>): number {
  let sum = 0;
  let squares = 0;
  for (let i = 0; i < values.length; i++) {
    sum += values[i];
    squares += values[i] * values[i];
  }
  const mean = sum / values.length;
  return Math.sqrt(squares / values.length - mean * mean);
}

describe.each(CASES)('$name ($label)', ({ name, config }) => {
  const build = (prediction: Prediction = 'epsilon') => {
    const scheduler = createScheduler({ ...config, prediction_type: prediction }, name);
    scheduler.setTimesteps(STEPS);
    return scheduler;
  };

  it('lays out a decreasing schedule of valid timesteps and noise levels', () => {
    const scheduler = build();
    expect(scheduler.name).toBe(name);
    expect(scheduler.timesteps).toHaveLength(STEPS);
    scheduler.timesteps.forEach((timestep, i) => {
      expect(timestep).toBeGreaterThanOrEqual(0);
      expect(timestep).toBeLessThanOrEqual(999);
      if (i > 0) expect(timestep).toBeLessThan(scheduler.timesteps[i - 1]);
    });
    const noiseLevels = scheduler.timesteps.map((_, i) => levels(scheduler, i));
    noiseLevels.forEach(({ signal, noise }, i) => {
      expect(signal ** 2 + noise ** 2).toBeCloseTo(1, 6);
      if (i > 0) expect(noise).toBeLessThan(noiseLevels[i - 1].noise);
    });
  });

  it('has an initial noise scale', () => {
    const scheduler = build();
    if (name.startsWith('euler')) expect(scheduler.initNoiseSigma).toBeGreaterThan(1);
    else expect(scheduler.initNoiseSigma).toBe(1);
  });

  for (const prediction of PREDICTIONS) {
    it(`recovers x0 with an exact ${prediction} model, from the top and from a truncated start`, () => {
      for (const from of [0, truncatedStart(STEPS, 0.6)]) {
        const scheduler = build(prediction);
        const model = oracle(scheduler, prediction, CLEAN);
        const noise = createNoise(3);
        let sample = scheduler.addNoise(CLEAN, NOISE, from);
        for (let index = from; index < STEPS; index++) {
          const output = scheduler.step(model(scheduler.scaleModelInput(sample, index), index), index, sample, noise);
          sample = output.sample;
          expect(maxDifference(output.predictedOriginal.data, CLEAN.data)).toBeLessThan(1e-4);
        }
        expect(sample.shape).toEqual(SHAPE);
        expect(maxDifference(sample.data, CLEAN.data)).toBeLessThan(1e-4);
      }
    });
  }

  it('steps an addNoise latent to the next noise level', () => {
    const scheduler = build();
    const model = oracle(scheduler, 'epsilon', CLEAN);
    const drawn: Tensor[] = [];
    const recording: NoiseSource = (shape) => {
      const noise = gaussianTensor(11 + drawn.length, shape);
      drawn.push(noise);
      return noise;
    };
    for (let index = 0; index < STEPS - 1; index++) {
      const noised = scheduler.addNoise(CLEAN, NOISE, index);
      const output = scheduler.step(model(scheduler.scaleModelInput(noised, index), index), index, noised, recording);
      const next = output.sample;
      if (!isStochastic(name)) {
        expect(maxDifference(next.data, scheduler.addNoise(CLEAN, NOISE, index + 1).data)).toBeLessThan(1e-4);
      } else if (name === 'lcm') {
        // LCM re-noises its clean estimate with fresh noise to the next timestep.
        const expected = scheduler.addNoise(output.predictedOriginal, drawn[drawn.length - 1], index + 1);
        expect(maxDifference(next.data, expected.data)).toBeLessThan(1e-5);
      }
    }
  });

  it('lands at the next noise level in distribution', () => {
    const scheduler = build();
    const shape = [1, 4, 64, 64];
    const clean = zeros(shape);
    const model = oracle(scheduler, 'epsilon', clean);
    const index = 3;
    const noised = scheduler.addNoise(clean, gaussianTensor(21, shape), index);
    const next = scheduler.step(
      model(scheduler.scaleModelInput(noised, index), index),
      index,
      noised,
      createNoise(22),
    ).sample;
    const expectedSpread = scheduler.addNoise(zeros([1]), tensor(Float32Array.of(1), [1]), index + 1).data[0];
    expect(standardDeviation(next.data) / expectedSpread).toBeCloseTo(1, 1);
  });

  it('gives one trajectory whatever the parametrisation of the same model', () => {
    const runs = PREDICTIONS.map((prediction) => {
      const scheduler = build(prediction);
      const start = scheduler.addNoise(CLEAN, NOISE, 0);
      return denoise(scheduler, imperfect(scheduler, prediction), start, 0, createNoise(5)).data;
    });
    expect(maxDifference(runs[1], runs[0])).toBeLessThan(1e-4);
    expect(maxDifference(runs[2], runs[0])).toBeLessThan(1e-4);
  });

  it('forgets everything on setTimesteps', () => {
    const fresh = build();
    const start = fresh.addNoise(CLEAN, NOISE, 0);
    const expected = denoise(fresh, imperfect(fresh, 'epsilon'), start, 0, createNoise(9)).data;

    const reused = build();
    let sample = start;
    for (let index = 0; index < 3; index++) {
      const output = oracle(reused, 'epsilon', CLEAN)(reused.scaleModelInput(sample, index), index);
      sample = reused.step(output, index, sample, createNoise(1)).sample;
    }
    reused.setTimesteps(4);
    reused.setTimesteps(STEPS);
    const again = denoise(reused, imperfect(reused, 'epsilon'), start, 0, createNoise(9)).data;
    expect(Array.from(again)).toEqual(Array.from(expected));
  });

  it('refuses bad calls with a clear message', () => {
    const unset = createScheduler(config, name);
    const sample = zeros(SHAPE);
    expect(() => unset.step(sample, 0, sample, createNoise(0))).toThrow(
      `${name} scheduler: call setTimesteps before stepping or adding noise`,
    );
    expect(() => unset.addNoise(sample, sample, 0)).toThrow(`${name} scheduler: call setTimesteps`);
    const max = name === 'lcm' ? 50 : 1000;
    expect(() => unset.setTimesteps(0)).toThrow(`${name} scheduler: steps must be an integer in [1, ${max}], got 0`);
    expect(() => unset.setTimesteps(2.5)).toThrow(
      `${name} scheduler: steps must be an integer in [1, ${max}], got 2.5`,
    );
    expect(() => unset.setTimesteps(max + 1)).toThrow(`got ${max + 1}`);

    const scheduler = build();
    expect(() => scheduler.step(sample, STEPS, sample, createNoise(0))).toThrow(
      `${name} scheduler: index must be an integer in [0, ${STEPS - 1}], got ${STEPS}`,
    );
    expect(() => scheduler.scaleModelInput(sample, -1)).toThrow('got -1');
    expect(() => scheduler.step(zeros([1, 4, 4, 2]), 0, sample, createNoise(0))).toThrow(
      `${name} scheduler step: shapes [1, 4, 4, 2] and [1, 4, 4, 4] differ`,
    );
  });
});

describe('scheduler specifics', () => {
  it('DDIM without set_alpha_to_one ends at the noise level of alpha-bar_0', () => {
    const scheduler = createScheduler({ ...SD, steps_offset: 1, set_alpha_to_one: false }, 'ddim');
    scheduler.setTimesteps(STEPS);
    const end = denoise(
      scheduler,
      oracle(scheduler, 'epsilon', CLEAN),
      scheduler.addNoise(CLEAN, NOISE, 0),
      0,
      createNoise(0),
    );
    // alpha-bar_0 = 1 - 0.00085: x = sqrt(a0) x0 + sqrt(1 - a0) eps with the original noise.
    const expected = CLEAN.data.map((x0, i) => Math.sqrt(0.99915) * x0 + Math.sqrt(0.00085) * NOISE.data[i]);
    expect(maxDifference(end.data, expected)).toBeLessThan(1e-5);
  });

  it('DPM-Solver++ refuses steps out of order', () => {
    const scheduler = createScheduler(SD, 'dpm++2m');
    scheduler.setTimesteps(STEPS);
    const sample = scheduler.addNoise(CLEAN, NOISE, 0);
    scheduler.step(sample, 0, sample, createNoise(0));
    expect(() => scheduler.step(sample, 2, sample, createNoise(0))).toThrow(
      'dpm++2m scheduler: step 2 after step 0; steps must be consecutive',
    );
  });

  it('a large steps_offset that leaves the training range is refused', () => {
    const scheduler = createScheduler({ ...SD, steps_offset: 1 }, 'ddim');
    expect(() => scheduler.setTimesteps(1000)).toThrow(
      'ddim scheduler: timestep 1000 is outside the training range [0, 999]; lower steps_offset or the number of steps',
    );
  });
});
