/** Broken model folders: each problem is one clear error naming the file and the fix; nothing crashes. */
import { mkdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeModel } from '@pixels/server/models/describe-model.ts';
import { ModelRegistry } from '@pixels/server/models/model-registry.ts';
import { openSession } from '@pixels/server/models/onnx-runtime.ts';
import type { StableDiffusionModel } from '@pixels/server/models/sd/stable-diffusion-model.ts';
import { verifyModelFolder } from '@pixels/server/models/verify-model-folder.ts';
import { createModel, GraphBuilder, writeModel } from '@pixels/server/onnx/writer/index.ts';
import { describe, expect, it } from 'vitest';
import { tinyModel } from '../../helpers/tiny-model-folders.ts';
import { TINY_MODEL_SPECS } from '../../support/tiny-models/tiny-model-variants.ts';

const describeDir = (dir: string) => describeModel(dir, 'broken');

async function writeUnet(dir: string, inputs: [string, 'float32' | 'int64', (number | string)[]][]): Promise<void> {
  const graph = new GraphBuilder('unet');
  for (const [name, type, shape] of inputs) graph.input(name, type, shape);
  graph.op('Identity', ['sample'], {}, { outputs: ['out_sample'] });
  graph.output('out_sample', 'float32', ['batch', 4, 'height', 'width']);
  await writeModel(join(dir, 'unet', 'model.onnx'), createModel(graph.build()));
}

describe('folders that are not (whole) models', () => {
  it('a folder without model_index.json', async () => {
    const dir = await tinyModel('sd1');
    await rm(join(dir, 'model_index.json'));
    await expect(describeDir(dir)).rejects.toThrow(
      /is not a model folder: it has no model_index\.json\..*pixels models pull <hub-repo-id>/,
    );
  });

  it.each([
    [
      'vae_encoder',
      /vae_encoder: the model has no vae_encoder\/model\.onnx, which PIXELS needs to encode the source and exemplar images\. Download the complete ONNX export, or take the part from another model folder with .*pixels-model\.json/,
    ],
    ['unet', /unet: the model has no unet\/model\.onnx, which PIXELS needs to denoise/],
    [
      'text_encoder',
      /text_encoder: the model has no text_encoder\/model\.onnx, which PIXELS needs to encode prompts for sd1/,
    ],
    [
      'tokenizer',
      /tokenizer: missing; text_encoder needs its tokenizer \(vocab\.json and merges\.txt, or tokenizer\.json\)/,
    ],
  ])('a missing %s', async (part, message) => {
    const dir = await tinyModel('sd1');
    await rm(join(dir, part), { recursive: true });
    await expect(describeDir(dir)).rejects.toThrow(message);
  });

  it("SDXL's second text encoder, when missing", async () => {
    const dir = await tinyModel('sdxl');
    await rm(join(dir, 'text_encoder_2'), { recursive: true });
    await expect(describeDir(dir)).rejects.toThrow(
      /text_encoder_2\/model\.onnx, which PIXELS needs to encode prompts for sdxl/,
    );
  });

  it('a part folder with no ONNX file (an interrupted copy)', async () => {
    const dir = await tinyModel('sd1');
    await rm(join(dir, 'unet', 'model.onnx'));
    await expect(describeDir(dir)).rejects.toThrow(/unet has no \.onnx file: the folder is incomplete/);
  });

  it('a scheduler config with a value we cannot run', async () => {
    const dir = await tinyModel('sd1');
    const path = join(dir, 'scheduler', 'scheduler_config.json');
    await writeFile(path, JSON.stringify({ ...JSON.parse(await readFile(path, 'utf8')), prediction_type: 'flow' }));
    await expect(describeDir(dir)).rejects.toThrow(
      /scheduler_config\.json: scheduler_config\.prediction_type: expected one of epsilon, v_prediction, sample, got "flow"/,
    );
  });
});

describe('parts of the wrong kind', () => {
  it('a UNet with an input PIXELS cannot feed', async () => {
    const dir = await tinyModel('sd1');
    await writeUnet(dir, [
      ['sample', 'float32', ['batch', 4, 'height', 'width']],
      ['timestep', 'int64', ['batch']],
      ['encoder_hidden_states', 'float32', ['batch', 77, 768]],
      ['controlnet_cond', 'float32', ['batch', 3, 'h', 'w']],
    ]);
    await expect(describeDir(dir)).rejects.toThrow(
      /unet[\\/]model\.onnx: unexpected UNet input 'controlnet_cond' \(float32 \[batch, 3, h, w\]\); PIXELS feeds sample, timestep, encoder_hidden_states, text_embeds, time_ids, timestep_cond, reference_sample, source_sample\./,
    );
  });

  it('a UNet without the text input', async () => {
    const dir = await tinyModel('sd1');
    await writeUnet(dir, [
      ['sample', 'float32', ['batch', 4, 'height', 'width']],
      ['timestep', 'int64', ['batch']],
    ]);
    await expect(describeDir(dir)).rejects.toThrow(
      /unet[\\/]model\.onnx: (cannot tell the model family|the UNet has no input 'encoder_hidden_states')/,
    );
  });

  it('an SDXL UNet without time_ids', async () => {
    const dir = await tinyModel('sdxl');
    await writeUnet(dir, [
      ['sample', 'float32', ['batch', 4, 'height', 'width']],
      ['timestep', 'float32', ['batch']],
      ['encoder_hidden_states', 'float32', ['batch', 77, 2048]],
      ['text_embeds', 'float32', ['batch', 1280]],
    ]);
    await expect(describeDir(dir)).rejects.toThrow(/unet[\\/]model\.onnx: the sdxl UNet has no input 'time_ids'/);
  });

  it('an SDXL text encoder exported without hidden states', async () => {
    const dir = await tinyModel('sdxl');
    const sd1 = await tinyModel('sd1');
    await rm(join(dir, 'text_encoder'), { recursive: true });
    await mkdir(join(dir, 'text_encoder'));
    await writeFile(join(dir, 'text_encoder', 'model.onnx'), await readFile(join(sd1, 'text_encoder', 'model.onnx')));
    await expect(describeDir(dir)).rejects.toThrow(
      /text_encoder[\\/]model\.onnx: SDXL reads the penultimate hidden states, but text_encoder has no hidden_states\.N outputs; export it with optimum-cli/,
    );
  });

  it('an fp16 SDXL VAE known to overflow is refused; the fp16-fix (force_upcast false) is accepted', async () => {
    const spec = { ...TINY_MODEL_SPECS.sdxl, floatType: 'float16' as const };
    const dir = await tinyModel('sdxl');
    await rm(dir, { recursive: true });
    const { writeTinyModel } = await import('../../support/tiny-models/write-tiny-model.ts');
    await writeTinyModel(dir, spec);
    await expect(describeDir(dir)).rejects.toThrow(
      /vae_decoder[\\/]model\.onnx: this fp16 SDXL VAE decoder is known to overflow \(black or NaN images\).*fp16-fix VAE.*set "force_upcast": false/,
    );
    for (const part of ['vae_encoder', 'vae_decoder']) {
      const path = join(dir, part, 'config.json');
      await writeFile(path, JSON.stringify({ ...JSON.parse(await readFile(path, 'utf8')), force_upcast: false }));
    }
    const { info } = await describeDir(dir);
    expect(info.dtype).toBe('float16');
  });

  it('a decoder that overflows anyway is caught at decode time, naming the file', async () => {
    const dir = await tinyModel('sd1-olive');
    const registry = new ModelRegistry({
      modelsDir: join(dir, '..'),
      session: { providers: ['cpu'], intraOpThreads: 1 },
    });
    const model = await registry.get(dir);
    const latent = { data: new Float32Array(4 * 64).fill(20000), shape: [1, 4, 8, 8] };
    await expect(model.decodeLatent(latent)).rejects.toThrow(
      /vae_decoder[\\/]model\.onnx: the VAE decoder produced NaN or infinite pixels/,
    );
    await registry.close();
  });
});

describe('sizes and batches the export fixed', () => {
  it('a fixed-size UNet refuses other latent sizes before running, and says what it takes', async () => {
    const dir = await tinyModel('sd1', { staticShape: { batch: 2, latentSize: 8 } });
    const registry = new ModelRegistry({
      modelsDir: join(dir, '..'),
      session: { providers: ['cpu'], intraOpThreads: 1 },
    });
    const model = (await registry.get(dir)) as StableDiffusionModel;
    expect(model.info.nativeSize).toBe(64);
    const conditioning = await model.encodePrompt('a cat', '', true);
    const small = { data: new Float32Array(4 * 64), shape: [1, 4, 8, 8] };
    // The fixed batch of 2 serves one branch too (the row is doubled).
    const single = await model.predict({
      sample: small,
      timestep: 500,
      conditioning,
      guidance: 1,
      reference: small,
      branches: 'conditional',
    });
    const both = await model.predict({
      sample: small,
      timestep: 500,
      conditioning,
      guidance: 7,
      reference: small,
      branches: 'both',
    });
    expect([...single.conditional.data]).toEqual([...both.conditional.data]);
    const large = { data: new Float32Array(4 * 256), shape: [1, 4, 16, 16] };
    await expect(
      model.predict({ sample: large, timestep: 500, conditioning, guidance: 1, reference: large, branches: 'both' }),
    ).rejects.toThrow(
      /unet[\\/]model\.onnx: input 'sample' takes shape \[2, 4, 8, 8\], but this edit needs \[2, 4, 16, 16\]\. The part was exported with fixed sizes: edit at the size it takes, or re-export it with dynamic axes/,
    );
    await registry.close();
  });

  it('a UNet fixed at batch 1 runs the two guidance branches one after the other', async () => {
    const fixed = await tinyModel('sd1', { staticShape: { batch: 1, latentSize: 8 } });
    const dynamic = await tinyModel('sd1');
    const registry = new ModelRegistry({
      modelsDir: join(fixed, '..'),
      session: { providers: ['cpu'], intraOpThreads: 1 },
      maxResident: 2,
    });
    const outputs = [];
    for (const dir of [fixed, dynamic]) {
      const model = await registry.get(dir);
      const conditioning = await model.encodePrompt('a cat', 'a dog', true);
      const sample = { data: Float32Array.from({ length: 256 }, (_, i) => Math.sin(i)), shape: [1, 4, 8, 8] };
      outputs.push(
        await model.predict({ sample, timestep: 500, conditioning, guidance: 7, reference: sample, branches: 'both' }),
      );
    }
    expect([...outputs[0].unconditional!.data]).toEqual([...outputs[1].unconditional!.data]);
    expect([...outputs[0].conditional.data]).toEqual([...outputs[1].conditional.data]);
    await registry.close();
  });

  it('a latent the network cannot take (odd side) fails with the part named, not a crash', async () => {
    const dir = await tinyModel('sd1');
    const registry = new ModelRegistry({
      modelsDir: join(dir, '..'),
      session: { providers: ['cpu'], intraOpThreads: 1 },
    });
    const model = await registry.get(dir);
    expect(model.info.sizeMultiple).toBe(16);
    const conditioning = await model.encodePrompt('', '', false);
    const odd = { data: new Float32Array(4 * 49), shape: [1, 4, 7, 7] };
    await expect(
      model.predict({ sample: odd, timestep: 1, conditioning, guidance: 1, reference: odd, branches: 'conditional' }),
    ).rejects.toThrow(/unet[\\/]model\.onnx: onnxruntime failed to run this part/);
    await registry.close();
  });
});

describe('corrupt files', () => {
  it('a truncated graph is named at listing time, before any session', async () => {
    const dir = await tinyModel('sd1');
    const path = join(dir, 'text_encoder', 'model.onnx');
    await truncate(path, 100);
    await expect(describeDir(dir)).rejects.toThrow(
      /text_encoder[\\/]model\.onnx is not a valid ONNX model \(.*\); the file is corrupt or truncated: download it again/,
    );
  });

  it('truncated external weights: onnxruntime refuses to load, and verify says which file and why', async () => {
    const dir = await tinyModel('sd1');
    await truncate(join(dir, 'unet', 'model.onnx_data'), 500);
    await writeFile(join(dir, 'vae_decoder', 'model.onnx.incomplete'), 'partial');
    const registry = new ModelRegistry({
      modelsDir: join(dir, '..'),
      session: { providers: ['cpu'], intraOpThreads: 1 },
    });
    // Loading stops at the short file before onnxruntime sees it...
    await expect(registry.get(dir)).rejects.toThrow(
      /unet[\\/]model\.onnx_data: 500 bytes, but .*unet[\\/]model\.onnx reads up to byte \d+; the file is truncated/,
    );
    // ...and onnxruntime's own refusal is reworded with the file and the fix.
    await expect(
      openSession(join(dir, 'unet', 'model.onnx'), { providers: ['cpu'], intraOpThreads: 1 }),
    ).rejects.toThrow(/unet[\\/]model\.onnx: onnxruntime cannot load this part \(.*\); .*pixels models verify/);
    const report = await verifyModelFolder(dir, { load: true });
    expect(report.problems).toEqual([
      expect.stringMatching(
        /vae_decoder[\\/]model\.onnx\.incomplete: an unfinished download; run the same 'pixels models pull' again/,
      ),
      expect.stringMatching(
        /unet[\\/]model\.onnx_data: 500 bytes, but .*unet[\\/]model\.onnx reads up to byte \d+; the file is truncated\. Download it again\./,
      ),
    ]);
  });

  it('verify passes a good folder and loads every part', async () => {
    const report = await verifyModelFolder(await tinyModel('sdxl'), { load: true });
    expect(report.problems).toEqual([]);
    expect(report.checked.filter((line) => line.endsWith('onnxruntime loads it'))).toHaveLength(5);
    expect(report.checked).toContainEqual(expect.stringMatching(/^family sdxl \(/));
  });
});

describe('pixels-model.json', () => {
  it.each([
    [
      '{"parts": {"vae": "../x"}}',
      /pixels-model\.json: "parts" names "vae"; expected one of text_encoder, text_encoder_2, unet, vae_encoder, vae_decoder, tokenizer, tokenizer_2, scheduler\./,
    ],
    ['{"part": {}}', /pixels-model\.json: unknown field "part"; the fields are "parts", "family" and "description"\./],
    [
      '{"family": "sd3"}',
      /pixels-model\.json: "family" must be one of builtin, sd1, sd2, sdxl, sdxl-refiner, sd-turbo, sdxl-turbo, lcm, got "sd3"\./,
    ],
    [
      '{"parts": {"vae_decoder": "../nowhere/vae_decoder"}}',
      /pixels-model\.json: "parts\.vae_decoder" points to .*nowhere[\\/]vae_decoder, which does not exist; fix the path/,
    ],
    ['{"parts": ', /pixels-model\.json: not valid JSON/],
  ])('%s', async (text, message) => {
    const dir = await tinyModel('sd1');
    await writeFile(join(dir, 'pixels-model.json'), text);
    await expect(describeDir(dir)).rejects.toThrow(message);
  });

  it('overrides the family and the description', async () => {
    const dir = await tinyModel('sd2');
    await writeFile(join(dir, 'pixels-model.json'), JSON.stringify({ family: 'sd-turbo', description: 'my turbo' }));
    const { info, traits } = await describeDir(dir);
    expect(info.family).toBe('sd-turbo');
    expect(info.guidanceMode).toBe('none');
    expect(info.description).toBe('my turbo');
    expect(traits.evidence).toMatch(/set in .*pixels-model\.json/);
  });
});
