import { editImage } from '@pixels/server/engine/edit-image.ts';
import { planEdit } from '@pixels/server/engine/edit-plan.ts';
import { createHeldSource } from '@pixels/server/engine/held-source.ts';
import type { DiffusionModel } from '@pixels/server/engine/model.ts';
import { createNoise } from '@pixels/server/engine/noise.ts';
import { heldRuns, reinjectHeldSource, runPixelsPass, stepZeroComposites } from '@pixels/server/engine/pixels-loop.ts';
import { createScheduler } from '@pixels/server/engine/schedulers/create-scheduler.ts';
import { truncatedStart } from '@pixels/server/engine/schedulers/schedule-math.ts';
import type { Tensor } from '@pixels/server/engine/tensor.ts';
import type { ExemplarMode } from '@pixels/shared';
import { describe, expect, it } from 'vitest';
import { createAnalyticModel, testImage } from './analytic-model.ts';

const H = 6;
const W = 8;

/** A hold map with a horizontal ramp: 1 (keep) on the left, 0 (free) on the right. */
function rampHoldMap(): Float32Array {
  const hold = new Float32Array(H * W);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) hold[y * W + x] = Math.max(0, 1 - x / (W - 3));
  return hold;
}

/**
 * The official single-exemplar PIXELS loop, transcribed line by line (one noise sample per image,
 * reused at every timestep; surgical latent at step 0; source re-injected while held; CFG; step).
 */
async function officialLoop(options: {
  source: Tensor;
  exemplar: Tensor;
  holdMap: Float32Array;
  steps: number;
  strength: number;
  guidance: number;
  seed: number;
}): Promise<Tensor> {
  // Official models have no reference input: this one ignores it.
  const model = createAnalyticModel('classifier-free', false);
  const scheduler = createScheduler(model.info.schedulerConfig);
  scheduler.setTimesteps(options.steps);
  const noise = createNoise(options.seed);
  const noiseS = noise(options.source.shape);
  const noiseE = noise(options.exemplar.shape);
  const start = truncatedStart(options.steps, options.strength);
  const timesteps = scheduler.timesteps.slice(start);
  const conditioning = await model.encodePrompt('', '', true);
  const cells = H * W;
  let z: Float32Array = new Float32Array(0);
  const mix = (a: Float32Array, b: Float32Array, hold: Float32Array) =>
    a.map((value, i) => value * hold[i % cells] + b[i] * (1 - hold[i % cells]));
  const unusedReference = { data: new Float32Array(options.source.data.length), shape: options.source.shape };
  for (let i = 0; i < timesteps.length; i++) {
    const index = start + i;
    const S_i = scheduler.addNoise(options.source, noiseS, index).data;
    const E_i = scheduler.addNoise(options.exemplar, noiseE, index).data;
    const thr = i / timesteps.length;
    const hold = options.holdMap.map((h) => (h > thr ? 1 : 0));
    if (i === 0) {
      z = mix(S_i, E_i, hold);
    } else {
      z = mix(S_i, z, hold);
    }
    const latent = { data: z, shape: options.source.shape };
    const out = await model.predict({
      sample: scheduler.scaleModelInput(latent, index),
      timestep: timesteps[i],
      conditioning,
      guidance: options.guidance,
      reference: unusedReference,
      branches: 'both',
    });
    const u = out.unconditional!.data;
    const c = out.conditional.data;
    const guided = { data: u.map((value, k) => value + options.guidance * (c[k] - value)), shape: latent.shape };
    z = scheduler.step(guided, index, latent, noise).sample.data;
  }
  return { data: z, shape: options.source.shape };
}

describe('runPixelsPass', () => {
  const source = testImage(H, W, 0);
  const exemplar = testImage(H, W, 2);
  const holdMap = rampHoldMap();

  it('gives the same latents as the official single-exemplar loop', async () => {
    const settings = { steps: 12, strength: 0.75, guidance: 4.5, seed: 1234 };
    const expected = await officialLoop({ source, exemplar, holdMap, ...settings });
    const model = createAnalyticModel('classifier-free', false);
    const scheduler = createScheduler(model.info.schedulerConfig);
    scheduler.setTimesteps(settings.steps);
    // One exemplar whose coverage is exactly where the hold map is 0.
    const coverage = holdMap.map((h) => (h === 0 ? 1 : 0));
    const actual = await runPixelsPass({
      model,
      scheduler,
      conditioning: await model.encodePrompt('', '', true),
      guidance: settings.guidance,
      branches: 'both',
      noise: createNoise(settings.seed),
      source,
      exemplars: [{ latent: exemplar, coverage }],
      holdMap,
      startIndex: truncatedStart(settings.steps, settings.strength),
      curve: 'linear',
    });
    expect(model.calls).toHaveLength(9);
    expect(Array.from(actual.data)).toEqual(Array.from(expected.data));
  });

  it('keeps fully held cells on the noised source trajectory and frees the rest from the exemplar', async () => {
    const model = createAnalyticModel('none');
    const scheduler = createScheduler(model.info.schedulerConfig);
    scheduler.setTimesteps(10);
    const holdAll = new Float32Array(H * W).fill(1);
    const seen: number[] = [];
    await runPixelsPass({
      model,
      scheduler,
      conditioning: await model.encodePrompt('', '', false),
      guidance: 1,
      branches: 'conditional',
      noise: createNoise(7),
      source,
      exemplars: [{ latent: exemplar, coverage: new Float32Array(H * W).fill(1) }],
      holdMap: holdAll,
      startIndex: 4,
      curve: 'cubic',
      onStep: (report) => {
        seen.push(report.step);
      },
    });
    expect(seen).toEqual([1, 2, 3, 4, 5, 6]);
    // Every model input equals the noised source (H = 1 > every threshold), never the exemplar.
    const noise = createNoise(7);
    const noiseS = noise(source.shape);
    for (const [i, call] of model.calls.entries()) {
      const expected = scheduler.addNoise(source, noiseS, 4 + i);
      expect(Array.from(call.sample.data)).toEqual(Array.from(scheduler.scaleModelInput(expected, 4 + i).data));
    }
  });

  it('shows image-conditioned models the clean layer stack over S, not blended by the map a second time, and S itself', async () => {
    const model = createAnalyticModel('none');
    const scheduler = createScheduler(model.info.schedulerConfig);
    scheduler.setTimesteps(4);
    const coverage = new Float32Array(H * W).fill(1);
    coverage[0] = 0; // a cell the exemplar does not cover keeps the source whatever the map says
    await runPixelsPass({
      model,
      scheduler,
      conditioning: await model.encodePrompt('', '', false),
      guidance: 1,
      branches: 'conditional',
      noise: createNoise(2),
      source,
      exemplars: [{ latent: exemplar, coverage }],
      holdMap,
      startIndex: 0,
      curve: 'linear',
    });
    const cells = H * W;
    const expected = source.data.map((s, i) => {
      const cell = i % cells;
      return coverage[cell] * exemplar.data[i] + (1 - coverage[cell]) * s;
    });
    for (const call of model.calls) {
      expect(
        Array.from(call.reference.data)
          .map((v, i) => v - expected[i])
          .every((d) => Math.abs(d) < 1e-6),
      ).toBe(true);
      expect(call.source).toBe(source);
    }
  });

  it('composites exemplar layers in z-order by coverage, top last, into the reference and the free cells of z', () => {
    const base = { data: Float32Array.of(0, 0, 0, 7), shape: [1, 1, 2, 2] };
    const bottom = {
      latent: { data: new Float32Array(4).fill(1), shape: [1, 1, 2, 2] },
      coverage: Float32Array.of(1, 1, 0.5, 0),
    };
    const top = {
      latent: { data: new Float32Array(4).fill(2), shape: [1, 1, 2, 2] },
      coverage: Float32Array.of(0, 1, 0.5, 0),
    };
    // Noise-free scales, so z's free cells show the clean stack too; the last cell is held at step 0.
    const scales = { signal: 1, noise: 0 };
    const runs = heldRuns(Float32Array.of(0, 0, 0, 1), [0.5]);
    const zeroNoise = (shape: readonly number[], into?: Float32Array) => ({
      data: into ?? new Float32Array(shape.reduce((a, b) => a * b, 1)),
      shape: [...shape],
    });
    const held = createHeldSource(base.data, (into) => into.fill(0));
    const { surgical, reference } = stepZeroComposites(base, held, [bottom, top], zeroNoise, runs, scales);
    expect([...reference.data]).toEqual([1, 2, 1.25, 7]);
    expect([...surgical.data]).toEqual([1, 2, 1.25, 7]);
    // No layers: the reference is the source itself.
    expect(stepZeroComposites(base, held, [], zeroNoise, runs, scales).reference).toBe(base);
  });

  it('stops between steps when canceled', async () => {
    const model = createAnalyticModel('none');
    const scheduler = createScheduler(model.info.schedulerConfig);
    scheduler.setTimesteps(20);
    const controller = new AbortController();
    const run = runPixelsPass({
      model,
      scheduler,
      conditioning: await model.encodePrompt('', '', false),
      guidance: 1,
      branches: 'conditional',
      noise: createNoise(1),
      source,
      exemplars: [{ latent: exemplar, coverage: new Float32Array(H * W).fill(1) }],
      holdMap,
      startIndex: 0,
      curve: 'linear',
      signal: controller.signal,
      onStep: (report) => {
        if (report.step === 3) controller.abort();
      },
    });
    await expect(run).rejects.toMatchObject({ code: 'canceled' });
    expect(model.calls).toHaveLength(3);
  });
});

/** A hold map and table under which cell c is held for exactly counts[c] steps. */
function holdMapFor(counts: readonly number[]): { holdMap: Float32Array; table: number[] } {
  const steps = Math.max(...counts, 1);
  return {
    holdMap: Float32Array.from(counts, (count) => (count - 0.5) / steps),
    table: Array.from({ length: steps }, (_, i) => i / steps),
  };
}

describe('heldRuns and reinjectHeldSource', () => {
  it('count the steps that hold each cell: hold_i = [H > thr_i] exactly while i < count', () => {
    const holdMap = Float32Array.of(0, 1, 0.5, 0.26, 0.25, 0.9, 0.9, Number.NaN);
    const table = [0, 0.25, 0.5, 0.75];
    const runs = heldRuns(holdMap, table);
    const countOf = (cell: number) => runs.counts[runs.starts.findLastIndex((start) => start <= cell)];
    for (const cell of holdMap.keys()) {
      for (let i = 0; i < table.length; i++) expect(countOf(cell) > i).toBe(holdMap[cell] > table[i]);
    }
    expect([...runs.starts]).toEqual([0, 1, 2, 4, 5, 7, 8]);
    expect([...runs.counts]).toEqual([0, 4, 2, 1, 4, 0]);
  });

  it('cut the cells into runs of equal count, in order', () => {
    const { holdMap, table } = holdMapFor([3, 3, 0, 0, 0, 5, 3, 3]);
    const runs = heldRuns(holdMap, table);
    expect([...runs.starts]).toEqual([0, 2, 5, 6, 8]);
    expect([...runs.counts]).toEqual([3, 0, 5, 3]);
    expect([...heldRuns(new Float32Array(0), table).starts]).toEqual([0]);
  });

  it('write S_i * hold_i + z * (1 - hold_i) in every channel, nowhere else', () => {
    const heldSteps = Uint16Array.of(3, 3, 0, 0, 0, 5, 3, 1);
    const cells = heldSteps.length;
    const S = Float32Array.from({ length: 2 * cells }, (_, i) => i + 1);
    const sourceNoise = Float32Array.from({ length: 2 * cells }, (_, i) => -i / 4);
    const scales = { signal: 0.75, noise: 0.5 };
    for (let step = 0; step < 6; step++) {
      const z = new Float32Array(2 * cells).fill(-99);
      const { holdMap, table } = holdMapFor([...heldSteps]);
      reinjectHeldSource(
        z,
        createHeldSource(S, (into) => into.set(sourceNoise)),
        heldRuns(holdMap, table),
        step,
        scales,
      );
      const expected = Array.from(z, (_, i) =>
        heldSteps[i % cells] > step ? Math.fround(0.75 * S[i] + 0.5 * sourceNoise[i]) : -99,
      );
      expect([...z]).toEqual(expected);
    }
  });
});

describe('editImage', () => {
  const source = testImage(H, W, 0);
  const exemplar = { image: testImage(H, W, 1), alpha: { data: new Float32Array(H * W).fill(1), width: W, height: H } };
  const editMap = { data: new Float32Array(H * W).fill(1), width: W, height: H };
  const base = {
    createScheduler: () => createScheduler(createAnalyticModel().info.schedulerConfig),
    source,
    editMap,
    curve: 'linear' as const,
    prompt: '',
    negativePrompt: '',
  };
  const planFor = (model: DiffusionModel, exemplarMode: ExemplarMode, exemplarCount: number, strength = 0.5) =>
    planEdit({ steps: 8, strength, exemplarMode, guidance: 1, exemplarCount }, model.info);

  it('returns the source untouched when no step runs (strength 0)', async () => {
    const model = createAnalyticModel();
    const out = await editImage({
      ...base,
      model,
      noise: createNoise(1),
      exemplars: [{ ...exemplar, editMap }],
      plan: planFor(model, 'layered', 1, 0),
    });
    expect(out).toBe(source);
    expect(model.calls).toHaveLength(0);
  });

  it('runs one pass for layered and one per exemplar for iterative, counting steps over all passes', async () => {
    const layered = createAnalyticModel();
    const steps: number[] = [];
    await editImage({
      ...base,
      model: layered,
      noise: createNoise(1),
      exemplars: [
        { ...exemplar, editMap },
        { ...exemplar, editMap },
      ],
      plan: planFor(layered, 'layered', 2),
    });
    expect(layered.calls).toHaveLength(4);
    const iterative = createAnalyticModel();
    await editImage({
      ...base,
      model: iterative,
      noise: createNoise(1),
      exemplars: [
        { ...exemplar, editMap },
        { ...exemplar, editMap },
      ],
      plan: planFor(iterative, 'iterative', 2),
      onStep: (step, total) => {
        steps.push(step, total);
      },
    });
    expect(iterative.calls).toHaveLength(8);
    expect(steps.filter((_, i) => i % 2 === 0)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(steps[1]).toBe(8);
  });

  it('is deterministic for a seed and differs across seeds', async () => {
    const run = (seed: number) => {
      const model = createAnalyticModel();
      return editImage({
        ...base,
        model,
        noise: createNoise(seed),
        exemplars: [{ ...exemplar, editMap }],
        plan: planFor(model, 'layered', 1),
      });
    };
    const [a, b, c] = await Promise.all([run(5), run(5), run(6)]);
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    expect(Array.from(a.data)).not.toEqual(Array.from(c.data));
  });
});
