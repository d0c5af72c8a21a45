import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Tensor } from '@pixels/server/engine/tensor.ts';
import { decodeRgba, resizeRaw } from '@pixels/server/images/codec.ts';
import { addAlphaLookup } from '@pixels/server/models/builtin/alpha-lookup.ts';
import { BUILTIN_DESIGN } from '@pixels/server/models/builtin/builtin-design.ts';
import { cleanedShares, ditherTile, inverseShare } from '@pixels/server/models/builtin/dither-field.ts';
import { generateBuiltinModel } from '@pixels/server/models/builtin/generate.ts';
import { probit, releaseProbability } from '@pixels/server/models/builtin/release-prior.ts';
import { scaledLinearAlphasCumprod } from '@pixels/server/models/builtin/scheduler-table.ts';
import { buildUnetGraph } from '@pixels/server/models/builtin/unet-graph.ts';
import { REFERENCE_INPUT, SOURCE_INPUT } from '@pixels/server/models/exemplar-inputs.ts';
import { type ModelSession, openSession } from '@pixels/server/models/onnx-runtime.ts';
import { createModel, GraphBuilder, writeModel } from '@pixels/server/onnx/writer/index.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES_DIR } from '../../helpers/images.ts';

const CPU = { providers: ['cpu'], intraOpThreads: 1 } as const;
const HIDDEN = BUILTIN_DESIGN.hiddenSize;
const CHANNELS = BUILTIN_DESIGN.latentChannels;

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

async function predictNoise(sample: Tensor, reference: Tensor, source: Tensor, timesteps: number[]): Promise<Tensor> {
  const batch = sample.shape[0];
  const outputs = await unet.run({
    sample: { kind: 'float', tensor: sample },
    timestep: { kind: 'float', tensor: { data: Float32Array.from(timesteps), shape: [batch] } },
    encoder_hidden_states: {
      kind: 'float',
      tensor: { data: new Float32Array(batch * 77 * HIDDEN), shape: [batch, 77, HIDDEN] },
    },
    [REFERENCE_INPUT]: { kind: 'float', tensor: reference },
    [SOURCE_INPUT]: { kind: 'float', tensor: source },
  });
  return outputs.out_sample;
}

/** The scheduler's x0 estimate from an ε prediction. */
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

/** The least-squares share w of the layer in x ≈ (1 − w)·S + w·R. */
function layerShare(x: ArrayLike<number>, source: Tensor, reference: Tensor): number {
  let cross = 0;
  let energy = 0;
  for (let i = 0; i < x.length; i++) {
    const difference = reference.data[i] - source.data[i];
    cross += (x[i] - source.data[i]) * difference;
    energy += difference * difference;
  }
  return cross / energy;
}

/**
 * layerShare's two sums per cell (over the channels of a `plane`-cell latent): the share of cell
 * i is cross[i] / energy[i], and energy[i] says how clearly S and R differ there.
 */
function cellShareTerms(
  x: ArrayLike<number>,
  source: Tensor,
  reference: Tensor,
  plane: number,
): { cross: Float64Array; energy: Float64Array } {
  const cross = new Float64Array(plane);
  const energy = new Float64Array(plane);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < CHANNELS; c++) {
      const difference = reference.data[c * plane + i] - source.data[c * plane + i];
      cross[i] += (x[c * plane + i] - source.data[c * plane + i]) * difference;
      energy[i] += difference * difference;
    }
  }
  return { cross, energy };
}

/** Deterministic DDIM in x0 space from `timesteps[0]` down, with the model's own estimates. */
async function ddim(start: Tensor, reference: Tensor, source: Tensor, timesteps: readonly number[]) {
  let sample = start;
  let clean: Float32Array = new Float32Array(0);
  for (const [k, t] of timesteps.entries()) {
    const alpha = ALPHAS_CUMPROD[t];
    const epsilon = await predictNoise(sample, reference, source, [t]);
    clean = predictedClean(sample, epsilon, alpha);
    const next = k + 1 < timesteps.length ? ALPHAS_CUMPROD[timesteps[k + 1]] : ALPHAS_CUMPROD[0];
    sample = {
      data: clean.map((value, i) => Math.sqrt(next) * value + Math.sqrt(1 - next) * epsilon.data[i]),
      shape: start.shape,
    };
  }
  return clean;
}

describe('the switch-prior denoiser', () => {
  let source: Tensor;
  let layer: Tensor;
  beforeAll(async () => {
    source = await fixtureLatent('brick', 64, 64);
    layer = await fixtureLatent('grass', 64, 64);
  });

  it('predicts the exact noise where no layer differs from the source', async () => {
    const noise = gaussian(source.data.length, 11);
    for (const t of [1, 10.5, 300, 900]) {
      const alpha = alphaAt(t);
      const epsilon = await predictNoise(noised(source, noise, alpha), source, source, [t]);
      expect(epsilon.shape).toEqual(source.shape);
      const worst = Math.max(...epsilon.data.map((value, i) => Math.abs(value - noise[i])));
      expect(worst, `t = ${t}`).toBeLessThan(1e-3);
    }
  });

  it('keeps the layer where the sample was noised from it (a white map)', async () => {
    const oneGreyLevel = (2 / 255) * BUILTIN_DESIGN.scalingFactor;
    for (const t of [101, 351, 551]) {
      const alpha = alphaAt(t);
      const sample = noised(layer, gaussian(layer.data.length, 3), alpha);
      const clean = predictedClean(sample, await predictNoise(sample, layer, source, [t]), alpha);
      const error = clean.reduce((sum, value, i) => sum + Math.abs(value - layer.data[i]), 0) / clean.length;
      expect(error, `t = ${t}`).toBeLessThan(oneGreyLevel);
    }
  });

  it('gives a cell freed at noise level t the layer with the prior probability of t, and the source at t = 1', async () => {
    const noise = gaussian(source.data.length, 5);
    const clean = async (t: number) =>
      predictedClean(
        noised(source, noise, alphaAt(t)),
        await predictNoise(noised(source, noise, alphaAt(t)), layer, source, [t]),
        alphaAt(t),
      );
    expect(layerShare(await clean(1), source, layer)).toBeCloseTo(0, 3);
    for (const t of [51, 151, 301, 451]) {
      const share = layerShare(await clean(t), source, layer);
      expect(Math.abs(share - releaseProbability(t, BUILTIN_DESIGN.designStrength)), `t = ${t}`).toBeLessThan(0.06);
    }
  });

  it('switches between the two images instead of blending them', async () => {
    const t = 301; // the prior gives the layer about half the cells
    const alpha = alphaAt(t);
    const sample = noised(source, gaussian(source.data.length, 5), alpha);
    const clean = predictedClean(sample, await predictNoise(sample, layer, source, [t]), alpha);
    // Per cell, how far along S → R the estimate is, where the two differ clearly.
    const plane = 64 * 64;
    const { cross, energy } = cellShareTerms(clean, source, layer, plane);
    let decided = 0;
    let counted = 0;
    for (let i = 0; i < plane; i++) {
      if (energy[i] < 0.25) continue;
      counted++;
      const share = cross[i] / energy[i];
      if (share < 0.2 || share > 0.8) decided++;
    }
    // An alpha blend at 0.5 decides no cell; the coarse band's wider blend leaves some in between.
    expect(decided / counted).toBeGreaterThan(0.6);
  });

  it('holds a choice through the later, quieter steps', async () => {
    for (const start of [151, 301]) {
      const timesteps: number[] = [];
      for (let t = start; t >= 1; t -= 50) timesteps.push(t);
      const first = noised(source, gaussian(source.data.length, 5), ALPHAS_CUMPROD[start]);
      const atRelease = layerShare(
        predictedClean(first, await predictNoise(first, layer, source, [start]), ALPHAS_CUMPROD[start]),
        source,
        layer,
      );
      const final = layerShare(await ddim(first, layer, source, timesteps), source, layer);
      expect(Math.abs(final - atRelease), `freed at ${start}`).toBeLessThan(0.12);
    }
  });

  it('treats each batch row with its own timestep', async () => {
    const noise = gaussian(source.data.length, 9);
    const low = noised(source, noise, alphaAt(20));
    const high = noised(source, noise, alphaAt(900));
    const twice = (tensor: Tensor) => ({
      data: Float32Array.from([...tensor.data, ...tensor.data]),
      shape: [2, ...tensor.shape.slice(1)],
    });
    const batched = await predictNoise(
      { data: Float32Array.from([...low.data, ...high.data]), shape: [2, ...source.shape.slice(1)] },
      twice(layer),
      twice(source),
      [20, 900],
    );
    const separate = [
      ...(await predictNoise(low, layer, source, [20])).data,
      ...(await predictNoise(high, layer, source, [900])).data,
    ];
    const worst = Math.max(...batched.data.map((value, i) => Math.abs(value - separate[i])));
    expect(worst).toBeLessThan(1e-4);
  });
});

describe('the dither tile', () => {
  const { size } = BUILTIN_DESIGN.dither;
  const tile = ditherTile(BUILTIN_DESIGN.dither);

  it('has standard normal marginals, so thresholding at probit(P) frees exactly P of it', () => {
    expect(tile.length).toBe(size * size);
    for (const p of [0.1, 0.3, 0.5, 0.7, 0.9]) {
      const share = tile.reduce((count, value) => count + (value > -probit(p) ? 1 : 0), 0) / tile.length;
      expect(share).toBeCloseTo(p, 3);
    }
  });

  /** How far the share above probit(P) strays from P over strips 10 cells wide, along both axes. */
  function stripErrors(field: Float32Array, p: number) {
    const width = 10;
    let worst = 0;
    let squares = 0;
    let strips = 0;
    for (let start = 0; start + width <= size; start += width) {
      let columns = 0;
      let rows = 0;
      for (let along = 0; along < size; along++) {
        for (let across = start; across < start + width; across++) {
          if (field[along * size + across] > -probit(p)) columns++;
          if (field[across * size + along] > -probit(p)) rows++;
        }
      }
      for (const count of [columns, rows]) {
        const error = count / (width * size) - p;
        worst = Math.max(worst, Math.abs(error));
        squares += error * error;
        strips++;
      }
    }
    return { worst, rms: Math.sqrt(squares / strips) };
  }

  it('frees about P of every strip a tenth of a 256-pixel band wide, better than a plain low-pass field', () => {
    // The same blobs without the band-pass cut-off (the coarse blur spans the whole tile).
    const lowPass = ditherTile({ ...BUILTIN_DESIGN.dither, coarseBlur: size / 4 });
    for (const p of [0.2, 0.5, 0.8]) {
      const ours = stripErrors(tile, p);
      const theirs = stripErrors(lowPass, p);
      expect(ours.rms, `P = ${p}`).toBeLessThan(0.06);
      expect(ours.worst, `P = ${p}`).toBeLessThan(0.15);
      expect(ours.rms, `P = ${p}`).toBeLessThan(theirs.rms * 0.8);
    }
  });

  it("gives the clean-up's share for each P, below P where P is small and above it where P is large", () => {
    const shares = cleanedShares(tile, size, BUILTIN_DESIGN.cleanBlur);
    const levels = shares.length - 1;
    for (let k = 1; k <= levels; k++) expect(shares[k]).toBeGreaterThanOrEqual(shares[k - 1]);
    expect(shares[0]).toBe(0);
    expect(shares[levels]).toBe(1);
    expect(shares[Math.round(levels * 0.2)]).toBeLessThan(0.15);
    expect(shares[Math.round(levels * 0.8)]).toBeGreaterThan(0.85);
    for (const target of [0.1, 0.3, 0.5, 0.7, 0.9]) {
      const p = inverseShare(shares, target);
      const below = Math.floor(p * levels);
      const share = shares[below] + (p * levels - below) * ((shares[below + 1] ?? 1) - shares[below]);
      expect(share).toBeCloseTo(target, 6);
    }
  });

  it('is the same on every run and differs by seed', () => {
    expect(ditherTile(BUILTIN_DESIGN.dither)).toEqual(tile);
    expect(ditherTile({ ...BUILTIN_DESIGN.dither, seed: BUILTIN_DESIGN.dither.seed + 1 })).not.toEqual(tile);
  });
});

describe("the switch's clean-up", () => {
  /** Connected regions (4-neighbour) of fewer than `cells` cells, of either image, in a per-cell choice. */
  function smallRegions(choice: Uint8Array, size: number, cells: number): number {
    const seen = new Uint8Array(choice.length);
    let small = 0;
    for (let start = 0; start < choice.length; start++) {
      if (seen[start]) continue;
      const stack = [start];
      seen[start] = 1;
      let count = 0;
      while (stack.length) {
        const i = stack.pop() as number;
        count++;
        const x = i % size;
        for (const j of [x > 0 ? i - 1 : -1, x < size - 1 ? i + 1 : -1, i - size, i + size]) {
          if (j < 0 || j >= choice.length || seen[j] || choice[j] !== choice[start]) continue;
          seen[j] = 1;
          stack.push(j);
        }
      }
      if (count < cells) small++;
    }
    return small;
  }

  it('leaves fewer small islands and holes than the switch alone, at the same share', async () => {
    const size = 96;
    const source = await fixtureLatent('brick', size, size);
    // The layer differs from the source by a pixel checkerboard only: all fine band, so each cell's
    // share of it is the fine band's switch itself, not blurred by the coarse band's.
    const layer: Tensor = {
      data: source.data.map((value, i) => value + (((i % size) + Math.floor(i / size)) % 2 ? 0.6 : -0.6)),
      shape: source.shape,
    };
    const dir = await mkdtemp(join(tmpdir(), 'pixels-clean-up-'));
    try {
      const choices = async (cleanBlur: number) => {
        const { dither, designStrength, hiddenSize, latentChannels, cleanSlope } = BUILTIN_DESIGN;
        const path = join(dir, `unet-${cleanBlur}.onnx`);
        const graph = buildUnetGraph({
          ...BUILTIN_DESIGN,
          channels: latentChannels,
          cleanBlur,
          cleanSlope,
          dither,
          designStrength,
          hiddenSize,
          alphasCumprod: scaledLinearAlphasCumprod(0.00085, 0.012, 1000),
        });
        await writeModel(path, createModel(graph));
        const session = await openSession(path, CPU);
        const t = 201;
        const alpha = alphaAt(t);
        const sample = noised(source, gaussian(source.data.length, 17), alpha);
        const outputs = await session.run({
          sample: { kind: 'float', tensor: sample },
          timestep: { kind: 'float', tensor: { data: Float32Array.of(t), shape: [1] } },
          encoder_hidden_states: {
            kind: 'float',
            tensor: { data: new Float32Array(77 * HIDDEN), shape: [1, 77, HIDDEN] },
          },
          [REFERENCE_INPUT]: { kind: 'float', tensor: layer },
          [SOURCE_INPUT]: { kind: 'float', tensor: source },
        });
        await session.release();
        const clean = predictedClean(sample, outputs.out_sample, alpha);
        const plane = size * size;
        const { cross, energy } = cellShareTerms(clean, source, layer, plane);
        const choice = new Uint8Array(plane);
        for (let i = 0; i < plane; i++) choice[i] = cross[i] > 0.5 * energy[i] ? 1 : 0;
        return { choice, share: layerShare(clean, source, layer) };
      };
      // A clean-up blur of a third of a cell leaves the switch as it is.
      const alone = await choices(0.3);
      const cleaned = await choices(BUILTIN_DESIGN.cleanBlur);
      // Regions under 5x5 cells, of either image.
      const islands = (choice: Uint8Array) => smallRegions(choice, size, 25);
      expect(islands(cleaned.choice)).toBeLessThan(islands(alone.choice) / 2);
      // The release table is corrected for the clean-up, so the layer's share stays the prior's.
      const prior = releaseProbability(201, BUILTIN_DESIGN.designStrength);
      expect(Math.abs(cleaned.share - prior)).toBeLessThan(0.06);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the switch-prior denoiser at other sizes and coverages', () => {
  it('runs at a size larger than the dither tile and not a multiple of it', async () => {
    const width = BUILTIN_DESIGN.dither.size + 37;
    const source = await fixtureLatent('brick', width, 24);
    const layer = await fixtureLatent('grass', width, 24);
    const noise = gaussian(source.data.length, 13);
    const alpha = alphaAt(301);
    const sample = noised(source, noise, alpha);
    const same = await predictNoise(sample, source, source, [301]);
    expect(same.shape).toEqual(source.shape);
    expect(Math.max(...same.data.map((value, i) => Math.abs(value - noise[i])))).toBeLessThan(1e-3);
    const share = layerShare(
      predictedClean(sample, await predictNoise(sample, layer, source, [301]), alpha),
      source,
      layer,
    );
    expect(Math.abs(share - releaseProbability(301, BUILTIN_DESIGN.designStrength))).toBeLessThan(0.1);
  });

  it('fades a hard-edged layer in from the edge of its coverage instead of starting with a step', async () => {
    const size = 96;
    const source = await fixtureLatent('brick', size, size);
    const grass = await fixtureLatent('grass', size, size);
    const plane = size * size;
    // The layer covers the right half; elsewhere the composite is the source.
    const layer: Tensor = {
      data: source.data.map((value, i) => ((i % plane) % size >= size / 2 ? grass.data[i] : value)),
      shape: source.shape,
    };
    const t = 451;
    const alpha = alphaAt(t);
    const sample = noised(source, gaussian(source.data.length, 21), alpha);
    const clean = predictedClean(sample, await predictNoise(sample, layer, source, [t]), alpha);
    const columnsShare = (from: number, to: number) => {
      let cross = 0;
      let energy = 0;
      for (let i = 0; i < clean.length; i++) {
        const x = (i % plane) % size;
        if (x < from || x >= to) continue;
        const difference = layer.data[i] - source.data[i];
        cross += (clean[i] - source.data[i]) * difference;
        energy += difference * difference;
      }
      return cross / energy;
    };
    const edge = size / 2;
    const prior = releaseProbability(t, BUILTIN_DESIGN.designStrength);
    expect(columnsShare(edge, edge + 2)).toBeLessThan(0.2);
    expect(columnsShare(edge + 4, edge + 8)).toBeGreaterThan(columnsShare(edge, edge + 2));
    expect(Math.abs(columnsShare(edge + 24, size) - prior)).toBeLessThan(0.12);
    // Nothing of the layer where it does not cover the source.
    const left = clean.filter((_, i) => (i % plane) % size < edge);
    const leftSource = source.data.filter((_, i) => (i % plane) % size < edge);
    expect(Math.max(...left.map((value, i) => Math.abs(value - leftSource[i])))).toBeLessThan(1e-3);
  });
});
