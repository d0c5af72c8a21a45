import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { BUILTIN_DESIGN } from '@pixels/server/models/builtin/builtin-design.ts';
import { generateBuiltinModel } from '@pixels/server/models/builtin/generate.ts';
import { buildVaeDecoderGraph, buildVaeEncoderGraph } from '@pixels/server/models/builtin/vae-graphs.ts';
import { REFERENCE_INPUT, SOURCE_INPUT } from '@pixels/server/models/exemplar-inputs.ts';
import { ModelRegistry } from '@pixels/server/models/model-registry.ts';
import { openSession } from '@pixels/server/models/onnx-runtime.ts';
import { createModel, writeModel } from '@pixels/server/onnx/writer/index.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CPU = { providers: ['cpu'], intraOpThreads: 1 } as const;
const EXPECTED_FILES = [
  'model_index.json',
  'scheduler/scheduler_config.json',
  'text_encoder/config.json',
  'text_encoder/model.onnx',
  'tokenizer/merges.txt',
  'tokenizer/special_tokens_map.json',
  'tokenizer/tokenizer_config.json',
  'tokenizer/vocab.json',
  'unet/config.json',
  'unet/model.onnx',
  'unet/model.onnx_data',
  'vae_decoder/config.json',
  'vae_decoder/model.onnx',
  'vae_encoder/config.json',
  'vae_encoder/model.onnx',
];

let root: string;
let modelDir: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pixels-builtin-'));
  modelDir = join(root, 'builtin');
  await generateBuiltinModel(modelDir);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

async function readJson(path: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(path, 'utf8'));
}

describe('generateBuiltinModel', () => {
  it('writes every file of the Optimum layout and leaves no staging folder behind', async () => {
    expect(await listFiles(modelDir)).toEqual(EXPECTED_FILES);
    expect(await readdir(root)).toEqual(['builtin']);
  });

  it('writes the same bytes on every run', async () => {
    const again = join(root, 'again');
    await generateBuiltinModel(again);
    for (const file of EXPECTED_FILES) {
      const [first, second] = [await readFile(join(modelDir, file)), await readFile(join(again, file))];
      expect(first.equals(second), `${file} differs between runs`).toBe(true);
    }
    await rm(again, { recursive: true });
  });

  it('replaces a stale folder whole', async () => {
    const stale = join(root, 'stale');
    await mkdir(join(stale, 'unet'), { recursive: true });
    await writeFile(join(stale, 'model_index.json'), '{"pixels_builtin_version": 0}');
    await writeFile(join(stale, 'leftover.txt'), 'from an older version');
    await generateBuiltinModel(stale);
    expect(await listFiles(stale)).toEqual(EXPECTED_FILES);
    expect((await readdir(root)).sort()).toEqual(['builtin', 'stale']);
    await rm(stale, { recursive: true });
  });

  it('describes the model in diffusers configs the loader reads', async () => {
    const scheduler = await readJson(join(modelDir, 'scheduler/scheduler_config.json'));
    expect(scheduler).toMatchObject({
      _class_name: 'DDIMScheduler',
      beta_schedule: 'scaled_linear',
      beta_start: 0.00085,
      beta_end: 0.012,
      num_train_timesteps: 1000,
      timestep_spacing: 'leading',
      steps_offset: 1,
      set_alpha_to_one: false,
      clip_sample: false,
      prediction_type: 'epsilon',
    });
    const vae = await readJson(join(modelDir, 'vae_decoder/config.json'));
    expect(vae).toMatchObject({ latent_channels: 3, scaling_factor: BUILTIN_DESIGN.scalingFactor, sample_size: 512 });
    expect(2 ** ((vae.block_out_channels as number[]).length - 1)).toBe(BUILTIN_DESIGN.scaleFactor);
    expect(await readJson(join(modelDir, 'unet/config.json'))).toMatchObject({
      in_channels: 3,
      sample_size: 512,
      cross_attention_dim: BUILTIN_DESIGN.hiddenSize,
    });
    expect(await readJson(join(modelDir, 'model_index.json'))).toMatchObject({
      _class_name: 'PixelsBuiltinPipeline',
      pixels_builtin_version: BUILTIN_DESIGN.version,
    });
  });
});

describe('the tokenizer', () => {
  it('is a CLIP byte-level vocabulary: bytes, end-of-word bytes, merges, then the special tokens', async () => {
    const vocab = (await readJson(join(modelDir, 'tokenizer/vocab.json'))) as Record<string, number>;
    const ids = Object.values(vocab).sort((a, b) => a - b);
    expect(ids).toEqual(ids.map((_, index) => index));
    expect(vocab['!']).toBe(0);
    expect(vocab['!</w>']).toBe(256);
    expect(vocab['<|startoftext|>']).toBe(ids.length - 2);
    expect(vocab['<|endoftext|>']).toBe(ids.length - 1);
    const merges = (await readFile(join(modelDir, 'tokenizer/merges.txt'), 'utf8')).trim().split('\n');
    expect(merges[0]).toMatch(/^#version/);
    // Merge n adds token 512 + n (after the 512 byte tokens), made of two tokens that came before it.
    for (const [rank, merge] of merges.slice(1).entries()) {
      const [left, right] = merge.split(' ');
      expect(vocab[left + right], merge).toBe(512 + rank);
      expect(vocab[left], merge).toBeLessThan(512 + rank);
      expect(vocab[right], merge).toBeLessThan(512 + rank);
    }
  });
});

describe('the parts in onnxruntime', () => {
  it('declares SD-shaped inputs and outputs with symbolic batch and size', async () => {
    const declared: Record<string, string[]> = {};
    for (const part of ['text_encoder', 'unet', 'vae_encoder', 'vae_decoder']) {
      const session = await openSession(join(modelDir, part, 'model.onnx'), CPU);
      declared[part] = [...session.inputs, ...session.outputs].map(
        (info) => `${info.name}:${info.type}[${info.shape.join(',')}]`,
      );
      await session.release();
    }
    const d = BUILTIN_DESIGN.hiddenSize;
    expect(declared).toEqual({
      text_encoder: [
        'input_ids:int64[batch,77]',
        `last_hidden_state:float32[batch,77,${d}]`,
        `pooler_output:float32[batch,${d}]`,
      ],
      unet: [
        'sample:float32[batch,3,height,width]',
        'timestep:float32[batch]',
        `encoder_hidden_states:float32[batch,sequence,${d}]`,
        `${REFERENCE_INPUT}:float32[batch,3,height,width]`,
        `${SOURCE_INPUT}:float32[batch,3,height,width]`,
        'out_sample:float32[batch,3,height,width]',
      ],
      vae_encoder: [
        'sample:float32[batch,3,height,width]',
        'latent_parameters:float32[batch,6,latent_height,latent_width]',
      ],
      vae_decoder: [
        'latent_sample:float32[batch,3,latent_height,latent_width]',
        'sample:float32[batch,3,height,width]',
      ],
    });
  });

  it('embeds prompts: per-token hidden states and the end-of-text state as the pooled output', async () => {
    const session = await openSession(join(modelDir, 'text_encoder/model.onnx'), CPU);
    const vocab = (await readJson(join(modelDir, 'tokenizer/vocab.json'))) as Record<string, number>;
    const end = vocab['<|endoftext|>'];
    const ids = [vocab['<|startoftext|>'], vocab['the</w>'], vocab['c'], vocab['a'], vocab['t</w>'], end];
    while (ids.length < 77) ids.push(end);
    const other = [...ids];
    other[1] = vocab['a</w>'];
    const result = await session.run({ input_ids: { kind: 'int', data: [...ids, ...other], shape: [2, 77] } });
    const d = BUILTIN_DESIGN.hiddenSize;
    const hidden = result.last_hidden_state;
    expect(hidden.shape).toEqual([2, 77, d]);
    expect(result.pooler_output.shape).toEqual([2, d]);
    // CLIP pools at the first end-of-text token (position 5 here).
    expect([...result.pooler_output.data.subarray(0, d)]).toEqual([...hidden.data.subarray(5 * d, 6 * d)]);
    // A different token changes its own position only.
    const row = (batch: number, position: number) => [
      ...hidden.data.subarray((batch * 77 + position) * d, (batch * 77 + position + 1) * d),
    ];
    expect(row(0, 1)).not.toEqual(row(1, 1));
    expect(row(0, 2)).toEqual(row(1, 2));
    await session.release();
  });

  it('round-trips images through the VAE exactly, with a point-mass posterior', async () => {
    const encoder = await openSession(join(modelDir, 'vae_encoder/model.onnx'), CPU);
    const decoder = await openSession(join(modelDir, 'vae_decoder/model.onnx'), CPU);
    const [height, width] = [24, 40];
    const image = Float32Array.from({ length: 3 * height * width }, (_, i) => Math.sin(i * 0.37));
    const encoded = await encoder.run({
      sample: { kind: 'float', tensor: { data: image, shape: [1, 3, height, width] } },
    });
    const f = BUILTIN_DESIGN.scaleFactor;
    const { latentChannels } = BUILTIN_DESIGN;
    expect(encoded.latent_parameters.shape).toEqual([1, 2 * latentChannels, height / f, width / f]);
    const half = encoded.latent_parameters.data.length / 2;
    const mean = encoded.latent_parameters.data.slice(0, half);
    expect(encoded.latent_parameters.data.subarray(half).every((logVariance) => logVariance === -30)).toBe(true);
    const decoded = await decoder.run({
      latent_sample: { kind: 'float', tensor: { data: mean, shape: [1, latentChannels, height / f, width / f] } },
    });
    expect(decoded.sample.shape).toEqual([1, 3, height, width]);
    expect(decoded.sample.data).toEqual(image);
    await encoder.release();
    await decoder.release();
  });
});

describe('the space-to-depth VAE variant', () => {
  it('inverts its encoder exactly at scale factor 2 (12 latent channels)', async () => {
    const options = { scaleFactor: 2 };
    const encoderPath = join(root, 'vae-s2d-encoder.onnx');
    const decoderPath = join(root, 'vae-s2d-decoder.onnx');
    await writeModel(encoderPath, createModel(buildVaeEncoderGraph(options)));
    await writeModel(decoderPath, createModel(buildVaeDecoderGraph(options)));
    const encoder = await openSession(encoderPath, CPU);
    const decoder = await openSession(decoderPath, CPU);
    const [height, width] = [8, 12];
    const image = Float32Array.from({ length: 3 * height * width }, (_, i) => Math.cos(i * 0.91));
    const encoded = await encoder.run({
      sample: { kind: 'float', tensor: { data: image, shape: [1, 3, height, width] } },
    });
    expect(encoded.latent_parameters.shape).toEqual([1, 24, height / 2, width / 2]);
    // Channel (by·2 + bx)·3 + c of cell (y, x) holds pixel (2y + by, 2x + bx) of colour c.
    const plane = (height / 2) * (width / 2);
    const mean = encoded.latent_parameters.data.slice(0, 12 * plane);
    expect(mean[(1 * 2 + 0) * 3 * plane + 2 * plane + 1 * (width / 2) + 3]).toBe(
      image[2 * height * width + 3 * width + 6],
    );
    const decoded = await decoder.run({
      latent_sample: { kind: 'float', tensor: { data: mean, shape: [1, 12, height / 2, width / 2] } },
    });
    expect(decoded.sample.data).toEqual(image);
    await encoder.release();
    await decoder.release();
  });
});

describe('a built-in model folder from an earlier design', () => {
  it('is generated again when the registry is asked for it, not used as it is', async () => {
    const modelsDir = await mkdtemp(join(tmpdir(), 'pixels-builtin-stale-'));
    try {
      const dir = join(modelsDir, 'builtin');
      await generateBuiltinModel(dir);
      const indexPath = join(dir, 'model_index.json');
      const index = JSON.parse(await readFile(indexPath, 'utf8'));
      await writeFile(indexPath, JSON.stringify({ ...index, pixels_builtin_version: BUILTIN_DESIGN.version - 1 }));
      await writeFile(join(dir, 'unet', 'model.onnx_data'), 'an older design');
      const registry = new ModelRegistry({ modelsDir, session: CPU });
      try {
        expect(await registry.folderOf('builtin')).toBe(dir);
      } finally {
        await registry.close();
      }
      expect(JSON.parse(await readFile(indexPath, 'utf8')).pixels_builtin_version).toBe(BUILTIN_DESIGN.version);
      expect(await readFile(join(dir, 'unet', 'model.onnx_data'), 'utf8')).not.toBe('an older design');
      expect((await readdir(modelsDir)).sort()).toEqual(['builtin']); // no staging or retired folder left
    } finally {
      await rm(modelsDir, { recursive: true, force: true });
    }
  });
});
