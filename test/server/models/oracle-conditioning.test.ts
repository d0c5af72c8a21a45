/**
 * Conditioning, guidance and prediction types, pinned through real onnxruntime sessions. The
 * "target" oracle UNet returns the ε (or v) of a known clean sample
 *   x0[c] = base[c] + text[c]·mean(encoder_hidden_states[0, 1, :]) + pooled[c]·mean(text_embeds)
 *         + timeIds[c]·Σ_k (k+1)/1000·time_ids[k] + guidanceEmbedding[c]·Σ_k q_k·timestep_cond[k],
 * so what reached each UNet input can be read back from its output, and DDIM with such a model has
 * a closed form: ε̂ stays (z0 − sqrt(a0)·x0)/sqrt(1 − a0) at every step.
 */
import { createNoise } from '@pixels/server/engine/noise.ts';
import { runPixelsPass } from '@pixels/server/engine/pixels-loop.ts';
import { createScheduler } from '@pixels/server/engine/schedulers/create-scheduler.ts';
import type { Tensor } from '@pixels/server/engine/tensor.ts';
import { ModelRegistry } from '@pixels/server/models/model-registry.ts';
import type { StableDiffusionModel } from '@pixels/server/models/sd/stable-diffusion-model.ts';
import type { TextConditioning } from '@pixels/server/models/sd/text-conditioning.ts';
import { ClipTokenizer } from '@pixels/server/models/tokenizer/clip-tokenizer.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyModelsFolder } from '../../helpers/tiny-model-folders.ts';
import { guidanceEmbeddingWeight, ORACLE_COEFFICIENTS, timeIdWeight } from '../../support/tiny-models/tiny-unet.ts';
import { scaledLinearAlphas } from '../../support/tiny-models/write-tiny-model.ts';

const SIDE = 8;
const SHAPE = [1, 4, SIDE, SIDE];
const ALPHAS = scaledLinearAlphas(0.00085, 0.012, 1000);
const warnings: string[] = [];
let models: string;
let registry: ModelRegistry;

beforeAll(async () => {
  models = await tinyModelsFolder({ behaviour: 'oracle-target' });
  registry = new ModelRegistry({
    modelsDir: models,
    session: { providers: ['cpu'], intraOpThreads: 1 },
    maxResident: 10,
    onWarning: (message) => warnings.push(message),
  });
});
afterAll(() => registry.close());

async function load(name: string): Promise<StableDiffusionModel> {
  return (await registry.get(name)) as StableDiffusionModel;
}

const mean = (values: Float32Array) => values.reduce((sum, value) => sum + value, 0) / values.length;

/** The oracle's x0 per channel for the given UNet inputs. */
function target(
  hidden: Tensor,
  extra: { pooled?: Tensor; timeIds?: number[]; guidanceEmbedding?: Float32Array } = {},
): number[] {
  const c = ORACLE_COEFFICIENTS;
  return c.base.map((base, channel) => {
    const width = hidden.shape[2];
    let value = base + c.text[channel] * mean(hidden.data.subarray(width, 2 * width));
    if (extra.pooled) value += c.pooled[channel] * mean(extra.pooled.data);
    if (extra.timeIds)
      value += c.timeIds[channel] * extra.timeIds.reduce((sum, id, k) => sum + timeIdWeight(k) * id, 0);
    if (extra.guidanceEmbedding) {
      value +=
        c.guidanceEmbedding[channel] *
        extra.guidanceEmbedding.reduce((sum, e, k) => sum + guidanceEmbeddingWeight(k) * e, 0);
    }
    return value;
  });
}

/** The x0 a UNet output stands for, per channel, checking it is the same at every cell. */
function recoveredTarget(
  output: Tensor,
  sample: Tensor,
  timestep: number,
  prediction: 'epsilon' | 'v_prediction',
): number[] {
  const alpha = ALPHAS[timestep];
  const cells = SIDE * SIDE;
  return [0, 1, 2, 3].map((channel) => {
    const values: number[] = [];
    for (let cell = 0; cell < cells; cell++) {
      const index = channel * cells + cell;
      const x = sample.data[index];
      const out = output.data[index];
      values.push(
        prediction === 'epsilon'
          ? (x - Math.sqrt(1 - alpha) * out) / Math.sqrt(alpha)
          : Math.sqrt(alpha) * x - Math.sqrt(1 - alpha) * out,
      );
    }
    expect(Math.max(...values) - Math.min(...values)).toBeLessThan(5e-3);
    return mean(Float32Array.from(values));
  });
}

function sample(seed: number): Tensor {
  return createNoise(seed)(SHAPE);
}

function expectClose(actual: number[], expected: number[], tolerance: number): void {
  for (const [index, value] of actual.entries()) {
    expect(Math.abs(value - expected[index]), `channel ${index}: ${value} vs ${expected[index]}`).toBeLessThan(
      tolerance,
    );
  }
}

/**
 * A whole DDIM pass from a pure exemplar start (hold map 0) against the closed form:
 * final = sqrt(a_f)·x0 + sqrt(1 − a_f)·(z0 − sqrt(a0)·x0)/sqrt(1 − a0), z0 the noised exemplar.
 */
async function checkDdimPass(name: string, guidance: number, tolerance: number) {
  const model = await load(name);
  const steps = 10;
  const scheduler = createScheduler(model.info.schedulerConfig);
  scheduler.setTimesteps(steps);
  const withUnconditional = guidance > 1;
  const conditioning = (await model.encodePrompt('a red cat', 'blue dog', withUnconditional)) as TextConditioning;
  const exemplar = sample(3);
  const cells = SIDE * SIDE;
  const result = await runPixelsPass({
    model,
    scheduler,
    conditioning,
    guidance,
    branches: withUnconditional ? 'both' : 'conditional',
    noise: createNoise(11),
    source: sample(4),
    exemplars: [{ latent: exemplar, coverage: new Float32Array(cells).fill(1) }],
    holdMap: new Float32Array(cells),
    startIndex: 0,
    curve: 'linear',
  });
  const noise = createNoise(11);
  noise(SHAPE); // the source's noise
  const exemplarNoise = noise(SHAPE);
  const conditional = target(conditioning.conditional.hidden);
  const guided = withUnconditional
    ? target(conditioning.unconditional!.hidden).map((u, channel) => u + guidance * (conditional[channel] - u))
    : conditional;
  const firstAlpha = ALPHAS[scheduler.timesteps[0]];
  const finalAlpha = ALPHAS[0]; // set_alpha_to_one: false
  let maximumError = 0;
  for (let index = 0; index < result.data.length; index++) {
    const x0 = guided[Math.floor(index / cells)];
    const z0 = Math.sqrt(firstAlpha) * exemplar.data[index] + Math.sqrt(1 - firstAlpha) * exemplarNoise.data[index];
    const epsilon = (z0 - Math.sqrt(firstAlpha) * x0) / Math.sqrt(1 - firstAlpha);
    const expected = Math.sqrt(finalAlpha) * x0 + Math.sqrt(1 - finalAlpha) * epsilon;
    maximumError = Math.max(maximumError, Math.abs(result.data[index] - expected));
  }
  expect(maximumError).toBeLessThan(tolerance);
  return model;
}

describe('guidance and prediction types (target oracle, DDIM closed form)', () => {
  it('SD 1.x: classifier-free guidance mixes the two branches as uncond + g·(cond − uncond)', async () => {
    await checkDdimPass('tiny-sd1', 7.5, 1e-4);
  });

  it('SD 1.x: the unconditional branch is the first row of the batch, as in diffusers', async () => {
    const model = await load('tiny-sd1');
    const conditioning = (await model.encodePrompt('a red cat', 'blue dog', true)) as TextConditioning;
    const x = sample(5);
    const output = await model.predict({
      sample: x,
      timestep: 501,
      conditioning,
      guidance: 7.5,
      reference: x,
      branches: 'both',
    });
    expectClose(recoveredTarget(output.conditional, x, 501, 'epsilon'), target(conditioning.conditional.hidden), 1e-4);
    expectClose(
      recoveredTarget(output.unconditional!, x, 501, 'epsilon'),
      target(conditioning.unconditional!.hidden),
      1e-4,
    );
    // The two prompts' targets differ by far more than the tolerance, so swapped rows would fail.
    const difference = target(conditioning.conditional.hidden).map((value, channel) =>
      Math.abs(value - target(conditioning.unconditional!.hidden)[channel]),
    );
    expect(Math.max(...difference)).toBeGreaterThan(1e-2);
  });

  it('SD 2.x v-prediction: the same closed form through v', async () => {
    await checkDdimPass('tiny-sd2', 4, 1e-4);
  });

  it('the legacy export (int32 ids, latent_sample, weights.pb) runs the same pass', async () => {
    await checkDdimPass('tiny-sd1-legacy', 3, 1e-4);
  });

  it('fp16 I/O (Olive): inputs and outputs converted through Uint16Array, within half precision', async () => {
    await checkDdimPass('tiny-sd1-olive', 3, 2e-2);
  });

  it("an SD 1.x export at diffusers' 32-d test width runs the same pass", async () => {
    await checkDdimPass('tiny-sd1-narrow', 7.5, 1e-4);
  });
});

describe('LCM guidance embedding', () => {
  /** diffusers get_guidance_scale_embedding, transcribed independently: w = (g − 1)·1000. */
  function referenceEmbedding(guidance: number): Float32Array {
    const w = (guidance - 1) * 1000;
    const half = 128;
    const out = new Float32Array(256);
    for (let k = 0; k < half; k++) {
      const frequency = Math.exp((-Math.log(10000) / (half - 1)) * k);
      out[k] = Math.sin(w * frequency);
      out[half + k] = Math.cos(w * frequency);
    }
    return out;
  }

  it.each([1, 8.5])('feeds timestep_cond for guidance %d (one branch, no classifier-free mixing)', async (guidance) => {
    const model = await load('tiny-lcm');
    expect(model.info.guidanceMode).toBe('embedded');
    const conditioning = (await model.encodePrompt('a red cat', '', false)) as TextConditioning;
    expect(conditioning.unconditional).toBeUndefined();
    const x = sample(6);
    const output = await model.predict({
      sample: x,
      timestep: 759,
      conditioning,
      guidance,
      reference: x,
      branches: 'conditional',
    });
    const embedding = referenceEmbedding(guidance);
    if (guidance === 1) expect([...embedding]).toEqual([...new Array(128).fill(0), ...new Array(128).fill(1)]);
    expectClose(
      recoveredTarget(output.conditional, x, 759, 'epsilon'),
      target(conditioning.conditional.hidden, { guidanceEmbedding: embedding }),
      1e-4,
    );
  });
});

describe('SDXL conditioning', () => {
  async function encoderOutputs(model: StableDiffusionModel, part: 'text_encoder' | 'text_encoder_2', prompt: string) {
    const folder = part === 'text_encoder' ? 'tokenizer' : 'tokenizer_2';
    const tokenizer = await ClipTokenizer.load(`${models}/tiny-sdxl/${folder}`);
    const { ids } = tokenizer.encode(prompt);
    return model.sessions[part]!.run({ input_ids: { kind: 'int', data: ids, shape: [1, 77] } });
  }

  it.each([
    ['tiny-sdxl', 768, 1280],
    // diffusers' tiny SDXL widths: the same conditioning at 32 + 32.
    ['tiny-sdxl-narrow', 32, 32],
  ])(
    'base (%s): both penultimate hidden states concatenated, pooled text_embeds, zeros for an empty negative, 6 time ids',
    async (name, firstWidth, secondWidth) => {
      const model = await load(name);
      const width = firstWidth + secondWidth;
      const conditioning = (await model.encodePrompt('a red cat', '', true)) as TextConditioning;
      const first = await encoderOutputs(model, 'text_encoder', 'a red cat');
      const second = await encoderOutputs(model, 'text_encoder_2', 'a red cat');
      const hidden = conditioning.conditional.hidden;
      expect(hidden.shape).toEqual([1, 77, width]);
      for (const token of [0, 3, 76]) {
        expect([...hidden.data.subarray(token * width, token * width + firstWidth)]).toEqual([
          ...first['hidden_states.1'].data.subarray(token * firstWidth, (token + 1) * firstWidth),
        ]);
        expect([...hidden.data.subarray(token * width + firstWidth, (token + 1) * width)]).toEqual([
          ...second['hidden_states.1'].data.subarray(token * secondWidth, (token + 1) * secondWidth),
        ]);
      }
      expect(conditioning.conditional.pooled!.shape).toEqual([1, secondWidth]);
      expect([...conditioning.conditional.pooled!.data]).toEqual([...second.text_embeds.data]);
      expect(conditioning.unconditional!.hidden.data.every((value) => value === 0)).toBe(true);
      expect(conditioning.unconditional!.pooled!.data.every((value) => value === 0)).toBe(true);

      const x = sample(8);
      const output = await model.predict({
        sample: x,
        timestep: 301,
        conditioning,
        guidance: 5,
        reference: x,
        branches: 'both',
      });
      const timeIds = [64, 64, 0, 0, 64, 64]; // original size, crop top-left, target size: the 64x64 working size
      expectClose(
        recoveredTarget(output.unconditional!, x, 301, 'epsilon'),
        target(conditioning.unconditional!.hidden, { pooled: conditioning.unconditional!.pooled, timeIds }),
        1e-4,
      );
      expectClose(
        recoveredTarget(output.conditional, x, 301, 'epsilon'),
        target(hidden, { pooled: conditioning.conditional.pooled, timeIds }),
        1e-4,
      );
    },
  );

  it('a non-empty negative prompt is encoded, not zeroed', async () => {
    const model = await load('tiny-sdxl');
    const conditioning = (await model.encodePrompt('a red cat', 'blue dog', true)) as TextConditioning;
    const second = await encoderOutputs(model, 'text_encoder_2', 'blue dog');
    expect([...conditioning.unconditional!.pooled!.data]).toEqual([...second.text_embeds.data]);
  });

  it("refiner (paired with the base model's second encoder and VAE): 5 time ids with aesthetic scores 6 and 2.5; the empty negative is encoded", async () => {
    for (const name of ['tiny-sdxl-refiner', 'tiny-sdxl-refiner-paired']) {
      const model = await load(name);
      const conditioning = (await model.encodePrompt('a red cat', '', true)) as TextConditioning;
      expect(conditioning.conditional.hidden.shape).toEqual([1, 77, 1280]);
      expect(conditioning.unconditional!.hidden.data.some((value) => value !== 0)).toBe(true);
      const x = sample(9);
      const output = await model.predict({
        sample: x,
        timestep: 401,
        conditioning,
        guidance: 17.5,
        reference: x,
        branches: 'both',
      });
      const { conditional, unconditional } = conditioning;
      expectClose(
        recoveredTarget(output.conditional, x, 401, 'epsilon'),
        target(conditional.hidden, { pooled: conditional.pooled, timeIds: [64, 64, 0, 0, 6] }),
        1e-4,
      );
      expectClose(
        recoveredTarget(output.unconditional!, x, 401, 'epsilon'),
        target(unconditional!.hidden, { pooled: unconditional!.pooled, timeIds: [64, 64, 0, 0, 2.5] }),
        1e-4,
      );
    }
  });
});

describe('VAE glue and prompts', () => {
  const image: Tensor = {
    data: Float32Array.from(createNoise(12)([1, 3, 64, 64]).data, (value) => Math.tanh(value)),
    shape: [1, 3, 64, 64],
  };
  const blockMeans = (): Float32Array => {
    const out = new Float32Array(3 * SIDE * SIDE);
    for (let channel = 0; channel < 3; channel++) {
      for (let y = 0; y < 64; y++)
        for (let x = 0; x < 64; x++)
          out[channel * 64 + Math.floor(y / 8) * 8 + Math.floor(x / 8)] += image.data[channel * 4096 + y * 64 + x] / 64;
    }
    return out;
  };

  it.each([
    ['tiny-sd1', 1e-5],
    ['tiny-sdxl', 1e-5],
    ['tiny-sd1-legacy', 1e-5],
    ['tiny-sd1-olive', 2e-3],
  ])(
    '%s: the latent is the VAE mean times the scaling factor from its config, and decoding inverts it',
    async (name, tolerance) => {
      const model = await load(name as string);
      const latent = await model.encodeImage(image);
      expect(latent.shape).toEqual(SHAPE);
      const means = blockMeans();
      for (let i = 0; i < means.length; i++)
        expect(Math.abs(latent.data[i] - means[i])).toBeLessThan(tolerance as number);
      const decoded = await model.decodeLatent(latent);
      expect(decoded.shape).toEqual([1, 3, 64, 64]);
      for (let channel = 0; channel < 3; channel++) {
        expect(Math.abs(decoded.data[channel * 4096 + 9 * 64 + 17] - means[channel * 64 + 1 * 8 + 2])).toBeLessThan(
          2 * (tolerance as number),
        );
      }
    },
  );

  it('warns once, naming the dropped words, when a prompt is longer than 77 tokens', async () => {
    const model = await load('tiny-sdxl');
    warnings.length = 0;
    await model.encodePrompt(`${'cat '.repeat(75)}red dog`, '', true);
    expect(warnings).toEqual([
      expect.stringMatching(/The prompt is longer than CLIP's 77 tokens and was cut; dropped: "red dog"/),
    ]);
  });
});
