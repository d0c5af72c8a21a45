/**
 * The PIXELS masking, pinned end to end through real onnxruntime sessions. The "still" oracle UNet
 * predicts ε = 0 (x0 = x / sqrt(alpha-bar)), so every scheduler step only rescales what it is
 * given (DDIM) or keeps it (Euler): the final latent of each cell is exactly the noised source of
 * the last step that held that cell, or the noised exemplar composite if none did. Which step that
 * is follows from the hold map and the threshold curve alone, so the expected latent is computed
 * here cell by cell, without the engine's loop.
 */

import type { DiffusionModel } from '@pixels/server/engine/model.ts';
import { createNoise } from '@pixels/server/engine/noise.ts';
import { runPixelsPass } from '@pixels/server/engine/pixels-loop.ts';
import { createScheduler } from '@pixels/server/engine/schedulers/create-scheduler.ts';
import { truncatedStart } from '@pixels/server/engine/schedulers/schedule-math.ts';
import type { Tensor } from '@pixels/server/engine/tensor.ts';
import { ModelRegistry } from '@pixels/server/models/model-registry.ts';
import { type ThresholdCurve, thresholds } from '@pixels/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyModelsFolder } from '../../helpers/tiny-model-folders.ts';
import { scaledLinearAlphas } from '../../support/tiny-models/write-tiny-model.ts';

const SIDE = 8; // 64x64 images, 8x8 latents
const CELLS = SIDE * SIDE;
const SHAPE = [1, 4, SIDE, SIDE];
const ALPHAS = scaledLinearAlphas(0.00085, 0.012, 1000);
const SEED = 7;

let registry: ModelRegistry;
beforeAll(async () => {
  const models = await tinyModelsFolder({ behaviour: 'oracle-still' });
  registry = new ModelRegistry({
    modelsDir: models,
    session: { providers: ['cpu'], intraOpThreads: 1 },
    maxResident: 4,
  });
});
afterAll(() => registry.close());

function latent(seed: number): Tensor {
  return { data: Float32Array.from(createNoise(seed)(SHAPE).data, (value) => 0.5 * value), shape: SHAPE };
}

/** A hold map with every level from 0 to 1, and an exemplar covering the right half. */
const holdMap = Float32Array.from({ length: CELLS }, (_, cell) => cell / (CELLS - 1));
const coverage = Float32Array.from({ length: CELLS }, (_, cell) => (cell % SIDE >= SIDE / 2 ? 1 : 0));

async function runPass(model: DiffusionModel, steps: number, strength: number, curve: ThresholdCurve) {
  const scheduler = createScheduler(model.info.schedulerConfig);
  scheduler.setTimesteps(steps);
  const source = latent(1);
  const exemplar = latent(2);
  const conditioning = await model.encodePrompt('a red cat', '', false);
  const startIndex = truncatedStart(steps, strength);
  const result = await runPixelsPass({
    model,
    scheduler,
    conditioning,
    guidance: 1,
    branches: 'conditional',
    noise: createNoise(SEED),
    source,
    exemplars: [{ latent: exemplar, coverage }],
    holdMap,
    startIndex,
    curve,
  });
  return { result, source, exemplar, timesteps: scheduler.timesteps.slice(startIndex) };
}

/** For each cell, the index (within the run) of the last step whose threshold the hold map exceeds; -1 for none. */
function lastHeldStep(count: number, curve: ThresholdCurve): Int32Array {
  const table = thresholds(curve, count);
  return Int32Array.from(holdMap, (hold) => {
    let last = -1;
    for (let i = 0; i < count; i++) if (hold > table[i]) last = i;
    return last;
  });
}

describe('PIXELS masking through a real ONNX UNet (still oracle)', () => {
  it.each([
    ['linear', 10, 1],
    ['cubic', 10, 0.6],
    ['log', 8, 0.75],
  ] as const)('DDIM (tiny-sd1): %s curve, %i steps, strength %d', async (curve, steps, strength) => {
    const model = await registry.get('tiny-sd1');
    const { result, source, exemplar, timesteps } = await runPass(model, steps, strength, curve);
    const noise = createNoise(SEED);
    const sourceNoise = noise(SHAPE);
    const exemplarNoise = noise(SHAPE);
    const held = lastHeldStep(timesteps.length, curve);
    // DDIM x_prev = sqrt(a_prev)·x0 + sqrt(1-a_prev)·ε with ε = 0; the last step goes to alpha-bar_0 (set_alpha_to_one: false).
    const finalAlpha = ALPHAS[0];
    let maximumError = 0;
    for (let index = 0; index < result.data.length; index++) {
      const cell = index % CELLS;
      const step = held[cell];
      const alpha = ALPHAS[timesteps[Math.max(step, 0)]];
      // Never-held cells outside the exemplar's coverage keep the noised source of step 0.
      const isSource = step >= 0 || coverage[cell] === 0;
      const clean = isSource ? source.data[index] : exemplar.data[index];
      const noiseValue = isSource ? sourceNoise.data[index] : exemplarNoise.data[index];
      const noised = Math.sqrt(alpha) * clean + Math.sqrt(1 - alpha) * noiseValue;
      const expected = Math.sqrt(finalAlpha / alpha) * noised;
      maximumError = Math.max(maximumError, Math.abs(result.data[index] - expected));
    }
    expect(maximumError).toBeLessThan(2e-5);
    // The map really spans the cases: cells held to the end, released midway, and never held.
    expect(held.includes(timesteps.length - 1)).toBe(true);
    expect(held.includes(-1)).toBe(true);
    expect([...held].some((step) => step >= 0 && step < timesteps.length - 1)).toBe(true);
  });

  it('Euler (tiny-sdxl, leading spacing): every cell keeps the noised layer it last received', async () => {
    const model = await registry.get('tiny-sdxl');
    const steps = 12;
    const { result, source, exemplar, timesteps } = await runPass(model, steps, 0.5, 'quadratic');
    const noise = createNoise(SEED);
    const sourceNoise = noise(SHAPE);
    const exemplarNoise = noise(SHAPE);
    const held = lastHeldStep(timesteps.length, 'quadratic');
    const sigmaAt = (timestep: number) => Math.sqrt((1 - ALPHAS[timestep]) / ALPHAS[timestep]);
    let maximumError = 0;
    for (let index = 0; index < result.data.length; index++) {
      const cell = index % CELLS;
      const step = held[cell];
      const sigma = sigmaAt(timesteps[Math.max(step, 0)]);
      const isSource = step >= 0 || coverage[cell] === 0;
      // Euler works in x = x0 + sigma·n; with ε = 0 the ODE step leaves x where it is.
      const expected = isSource
        ? source.data[index] + sigma * sourceNoise.data[index]
        : exemplar.data[index] + sigma * exemplarNoise.data[index];
      maximumError = Math.max(maximumError, Math.abs(result.data[index] - expected));
    }
    expect(maximumError).toBeLessThan(2e-4);
  });
});
