import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Tensor } from '@pixels/server/engine/tensor.ts';
import { decodeRgba, resizeRaw } from '@pixels/server/images/codec.ts';
import { addAlphaLookup } from '@pixels/server/models/builtin/alpha-lookup.ts';
import { BUILTIN_DESIGN } from '@pixels/server/models/builtin/builtin-design.ts';
import { generateBuiltinModel } from '@pixels/server/models/builtin/generate.ts';
import { REFERENCE_INPUT } from '@pixels/server/models/builtin/unet-graph.ts';
import { type ModelSession, openSession } from '@pixels/server/models/onnx-runtime.ts';
import { createModel, GraphBuilder, writeModel } from '@pixels/server/models/onnx-writer/index.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES_DIR } from '../../helpers/images.ts';

const CPU = { providers: ['cpu'], intraOpThreads: 1 } as const;
const HIDDEN = BUILTIN_DESIGN.hiddenSize;
const CHANNELS = BUILTIN_DESIGN.latentChannels;
const RADIUS = BUILTIN_DESIGN.windowRadius;

/** ᾱ_t of SD's scaled_linear schedule, transcribed from diffusers' DDIMScheduler. */
const ALPHAS_CUMPROD = (() => {
  const table: number[] = [];
  let product = 1;
  for (let t = 0; t < 1000; t++) {
    const sqrtBeta = Math.sqrt(0.00085) + ((Math.sqrt(0.012) - Math.sqrt(0.00085)) * t) / 999;
    product *= 1 - sqrtBeta * sqrtBeta;
    table.push(product);
  }
  return table;
})();

/** ᾱ at a fractional timestep as Euler-family schedulers place it: log σ² linear in t. */
function alphaAt(t: number): number {
  const logRatio = (k: number) => Math.log((1 - ALPHAS_CUMPROD[k]) / ALPHAS_CUMPROD[k]);
  const clamped = Math.min(999, Math.max(0, t));
  const lower = Math.floor(clamped);
  const upper = Math.ceil(clamped);
  const ratio = logRatio(lower) + (clamped - lower) * (logRatio(upper) - logRatio(lower));
  return 1 / (1 + Math.exp(ratio));
}

function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state + 0.5) / 2 ** 32;
  };
}

function gaussian(count: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from(
    { length: count },
    () => Math.sqrt(-2 * Math.log(random())) * Math.cos(2 * Math.PI * random()),
  );
}

/** A fixture as a scaled latent: pixels in [−1, 1] times the scaling factor (pixel space). */
async function fixtureLatent(name: string, width: number, height: number): Promise<Tensor> {
  const image = await resizeRaw(
    await decodeRgba(await readFile(join(FIXTURES_DIR, `${name}.png`)), 1 << 24),
    width,
    height,
    'cover',
  );
  const plane = width * height;
  const data = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++)
      data[c * plane + i] = (image.data[i * 4 + c] / 127.5 - 1) * BUILTIN_DESIGN.scalingFactor;
  }
  return { data, shape: [1, 3, height, width] };
}

function noised(clean: Tensor, noise: Float32Array, alpha: number): Tensor {
  return {
    data: clean.data.map((value, i) => Math.sqrt(alpha) * value + Math.sqrt(1 - alpha) * noise[i]),
    shape: clean.shape,
  };
}

let root: string;
let unet: ModelSession;

async function predictNoise(sample: Tensor, reference: Tensor, timesteps: number[]): Promise<Tensor> {
  const batch = sample.shape[0];
  const outputs = await unet.run({
    sample: { kind: 'float', tensor: sample },
    timestep: { kind: 'float', tensor: { data: Float32Array.from(timesteps), shape: [batch] } },
    encoder_hidden_states: {
      kind: 'float',
      tensor: { data: new Float32Array(batch * 77 * HIDDEN), shape: [batch, 77, HIDDEN] },
    },
    [REFERENCE_INPUT]: { kind: 'float', tensor: reference },
  });
  return outputs.out_sample;
}

/** The scheduler's x0 estimate from an ε prediction; for this model it is the posterior mean. */
function predictedClean(sample: Tensor, epsilon: Tensor, alpha: number): Float32Array {
  return sample.data.map((value, i) => (value - Math.sqrt(1 - alpha) * epsilon.data[i]) / Math.sqrt(alpha));
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pixels-denoiser-'));
  await generateBuiltinModel(join(root, 'builtin'));
  unet = await openSession(join(root, 'builtin', 'unet', 'model.onnx'), CPU);
});
afterAll(async () => {
  await unet?.release();
  await rm(root, { recursive: true, force: true });
});

describe('ᾱ lookup', () => {
  it('reads the table at integer timesteps, interpolates log σ² between them and clamps the range', async () => {
    const graph = new GraphBuilder('lookup');
    const timestep = graph.input('timestep', 'float32', ['batch']);
    const table = graph.initializer('table', 'float32', [1000], ALPHAS_CUMPROD);
    graph.op('Identity', [addAlphaLookup(graph, timestep, table, 1000)], {}, { outputs: ['alpha'] });
    graph.output('alpha', 'float32', ['batch', 1, 1, 1]);
    const path = join(root, 'lookup.onnx');
    await writeModel(path, createModel(graph.build()));
    const session = await openSession(path, CPU);
    const timesteps = [0, 1, 10.5, 500, 761.25, 999, 1200, -3];
    const result = await session.run({
      timestep: { kind: 'float', tensor: { data: Float32Array.from(timesteps), shape: [timesteps.length] } },
    });
    expect(result.alpha.shape).toEqual([timesteps.length, 1, 1, 1]);
    timesteps.forEach((t, i) => {
      expect(result.alpha.data[i] / alphaAt(t), `t = ${t}`).toBeCloseTo(1, 5);
    });
    await session.release();
  });
});

describe('the patch-prior denoiser', () => {
  it('predicts the exact noise when the sample is noised from the reference and patches are distinct', async () => {
    const [height, width] = [20, 28];
    const count = CHANNELS * height * width;
    const random = seededRandom(7);
    const reference = {
      data: Float32Array.from({ length: count }, () => 6 * random() - 3),
      shape: [1, CHANNELS, height, width],
    };
    const noise = gaussian(count, 11);
    for (const t of [1, 10.5, 100, 300]) {
      const alpha = alphaAt(t);
      const epsilon = await predictNoise(noised(reference, noise, alpha), reference, [t]);
      expect(epsilon.shape).toEqual(reference.shape);
      const worst = Math.max(...epsilon.data.map((value, i) => Math.abs(value - noise[i])));
      expect(worst, `t = ${t}`).toBeLessThan(1e-4);
    }
  });

  it('recovers a photo at small noise', async () => {
    const reference = await fixtureLatent('chelsea', 48, 40);
    const oneGreyLevel = (2 / 255) * BUILTIN_DESIGN.scalingFactor;
    for (const [t, bound] of [
      [1, 1e-5],
      // Smooth fur has near-identical neighbouring patches, and at these noise levels the posterior
      // averages them: still well under one 8-bit grey level on average.
      [50, oneGreyLevel],
      [100, oneGreyLevel],
    ]) {
      const alpha = alphaAt(t);
      const sample = noised(reference, gaussian(reference.data.length, 3), alpha);
      const clean = predictedClean(sample, await predictNoise(sample, reference, [t]), alpha);
      const error = clean.reduce((sum, value, i) => sum + Math.abs(value - reference.data[i]), 0) / clean.length;
      expect(error, `t = ${t}`).toBeLessThan(bound);
    }
  });

  it('at high noise averages nearby reference cells instead of inventing values', async () => {
    const reference = await fixtureLatent('gravel', 40, 32);
    const [, , height, width] = reference.shape;
    const alpha = alphaAt(999);
    const sample = noised(reference, gaussian(reference.data.length, 5), alpha);
    const clean = predictedClean(sample, await predictNoise(sample, reference, [999]), alpha);
    const plane = height * width;
    let outside = 0;
    for (let c = 0; c < CHANNELS; c++) {
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          // A posterior mean is a convex combination of the candidates in the window.
          let low = Number.POSITIVE_INFINITY;
          let high = Number.NEGATIVE_INFINITY;
          for (let dy = -RADIUS; dy <= RADIUS; dy++) {
            for (let dx = -RADIUS; dx <= RADIUS; dx++) {
              const yy = reflect(y + dy, height);
              const xx = reflect(x + dx, width);
              const value = reference.data[c * plane + yy * width + xx];
              low = Math.min(low, value);
              high = Math.max(high, value);
            }
          }
          const value = clean[c * plane + y * width + x];
          if (value < low - 1e-3 || value > high + 1e-3) outside++;
        }
      }
    }
    expect(outside).toBe(0);
    // Nearly uninformative evidence: the estimate is a local average, much smoother than the texture.
    expect(variance(clean)).toBeLessThan(0.5 * variance(reference.data));
  });

  it('treats each batch row with its own timestep', async () => {
    const reference = await fixtureLatent('brick', 24, 24);
    const noise = gaussian(reference.data.length, 9);
    const low = noised(reference, noise, alphaAt(20));
    const high = noised(reference, noise, alphaAt(900));
    const batched = await predictNoise(
      { data: Float32Array.from([...low.data, ...high.data]), shape: [2, ...reference.shape.slice(1)] },
      { data: Float32Array.from([...reference.data, ...reference.data]), shape: [2, ...reference.shape.slice(1)] },
      [20, 900],
    );
    const separate = [
      ...(await predictNoise(low, reference, [20])).data,
      ...(await predictNoise(high, reference, [900])).data,
    ];
    const worst = Math.max(...batched.data.map((value, i) => Math.abs(value - separate[i])));
    expect(worst).toBeLessThan(1e-5);
  });
});

function reflect(index: number, size: number): number {
  if (index < 0) return -index;
  if (index >= size) return 2 * (size - 1) - index;
  return index;
}

function variance(values: ArrayLike<number>): number {
  let sum = 0;
  let squares = 0;
  for (let i = 0; i < values.length; i++) {
    sum += values[i];
    squares += values[i] * values[i];
  }
  const mean = sum / values.length;
  return squares / values.length - mean * mean;
}
