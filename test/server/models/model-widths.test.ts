/**
 * Model folders are read as diffusers reads them: the pipeline class and each part's config and
 * shapes decide how prompts become UNet inputs, at any width the parts agree on. The folders laid
 * out like diffusers' own tiny test pipelines (32-d text encoders) run whole edits through the real
 * loader and onnxruntime; only parts that contradict each other are refused, naming both.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runEditPipeline } from '@pixels/server/edit/edit-pipeline.ts';
import { decodeRgba, encodePng } from '@pixels/server/images/codec.ts';
import { describeModel } from '@pixels/server/models/describe-model.ts';
import { ModelRegistry } from '@pixels/server/models/model-registry.ts';
import { EditSettings } from '@pixels/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureAt } from '../../helpers/images.ts';
import { writeTinyModel } from '../../support/tiny-models/write-tiny-model.ts';

let root: string;
let registry: ModelRegistry;
let source: Uint8Array;
let exemplar: Uint8Array;
let map: Uint8Array;

/** A fresh copy of a generated model, to break in one test. */
async function copyOf(name: string): Promise<string> {
  const dir = await mkdtemp(join(root, `${name}-`));
  await cp(join(root, `tiny-${name}`), dir, { recursive: true });
  return dir;
}

async function editJson(path: string, change: (value: Record<string, unknown>) => void): Promise<void> {
  const value = JSON.parse(await readFile(path, 'utf8'));
  change(value);
  await writeFile(path, JSON.stringify(value));
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pixels-widths-'));
  for (const name of ['sd1-narrow', 'sdxl-narrow', 'sd1', 'sdxl'])
    await writeTinyModel(join(root, `tiny-${name}`), name);
  registry = new ModelRegistry({ modelsDir: root, session: { providers: ['cpu'], intraOpThreads: 1 }, maxResident: 2 });
  source = await fixtureAt('brick', 64);
  exemplar = await fixtureAt('grass', 64, 64, (x) => (x >= 32 ? 1 : 0));
  map = await encodePng({
    data: Uint8Array.from({ length: 64 * 64 }, (_, i) => (i % 64 >= 32 ? 255 : 0)),
    width: 64,
    height: 64,
    channels: 1,
  });
});
afterAll(async () => {
  await registry.close();
  await rm(root, { recursive: true, force: true });
});

describe('folders at the widths of diffusers test models', () => {
  it('a 32-d SD 1.x export: one encoder, the UNet attends to its 32-d hidden states', async () => {
    const { traits, info } = await describeModel(join(root, 'tiny-sd1-narrow'), 'tiny-sd1-narrow');
    expect(traits).toMatchObject({ family: 'sd1', conditioning: 'clip' });
    expect(traits.evidence).toBe(
      'model_index.json StableDiffusionPipeline, 32-d text embeddings (unet/config.json cross_attention_dim)',
    );
    expect(info.usesPrompt).toBe(true);
  });

  it('a narrow SDXL export: 32 + 32 = 64-d cross attention, 32-d pooled, 6 time ids of 8-d embeddings', async () => {
    const description = await describeModel(join(root, 'tiny-sdxl-narrow'), 'tiny-sdxl-narrow');
    expect(description.traits).toMatchObject({ family: 'sdxl', conditioning: 'sdxl' });
    expect(description.timeIdCount).toBe(6);
    expect(description.traits.evidence).toMatch(/6 time ids, 64-d text embeddings/);
  });

  it('without any part config, the shapes alone say the same', async () => {
    for (const name of ['sd1-narrow', 'sdxl-narrow']) {
      const dir = await copyOf(name);
      for (const part of ['text_encoder', 'text_encoder_2', 'unet', 'vae_encoder', 'vae_decoder'])
        await rm(join(dir, part, 'config.json'), { force: true });
      const { traits } = await describeModel(dir, name);
      expect(traits.conditioning, name).toBe(name === 'sd1-narrow' ? 'clip' : 'sdxl');
      expect(traits.evidence, name).toMatch(
        name === 'sd1-narrow'
          ? /32-d text embeddings \(unet\/model\.onnx input encoder_hidden_states\)/
          : /6 time ids, 64-d text embeddings \(unet\/model\.onnx input encoder_hidden_states\)/,
      );
    }
  });

  it.each(['tiny-sd1-narrow', 'tiny-sdxl-narrow'])(
    '%s runs an edit through the real loader and onnxruntime, and the prompt reaches the UNet',
    async (model) => {
      const run = async (prompt: string) => {
        const settings = EditSettings.parse({ model, prompt, steps: 4, strength: 1, seed: 3 });
        const outcome = await runEditPipeline(
          registry,
          settings,
          { source, exemplars: [exemplar], map },
          { maxPixels: 1 << 22, maxExemplars: 4 },
        );
        return decodeRgba(outcome.png, 1 << 22);
      };
      const [red, blue] = [await run('a red cat'), await run('a blue dog')];
      const original = await decodeRgba(source, 1 << 22);
      expect([red.width, red.height]).toEqual([64, 64]);
      const pixel = (data: Uint8Array, x: number, y: number) => [
        ...data.subarray((y * 64 + x) * 4, (y * 64 + x) * 4 + 3),
      ];
      // Kept half exact (paste-back), edited half changed, and changed differently by another prompt.
      expect(pixel(red.data, 2, 30)).toEqual(pixel(original.data, 2, 30));
      expect(pixel(red.data, 60, 30)).not.toEqual(pixel(original.data, 60, 30));
      expect(Buffer.from(red.data).equals(Buffer.from(blue.data))).toBe(false);
    },
  );
});

describe('parts that contradict each other are refused, naming both', () => {
  it('a 768-d text encoder beside a UNet that attends to 32-d embeddings', async () => {
    const dir = await copyOf('sd1-narrow');
    await rm(join(dir, 'text_encoder'), { recursive: true });
    await cp(join(root, 'tiny-sd1', 'text_encoder'), join(dir, 'text_encoder'), { recursive: true });
    await expect(describeModel(dir, 'mixed')).rejects.toThrow(
      /: the parts disagree about the width of the text embeddings: unet\/config\.json cross_attention_dim says 32, but text_encoder\/config\.json hidden_size says 768\. They come from different models: take both from the same export/,
    );
  });

  it('the same with no configs: the shapes of both parts are named', async () => {
    const dir = await copyOf('sd1-narrow');
    await rm(join(dir, 'text_encoder'), { recursive: true });
    await cp(join(root, 'tiny-sd1', 'text_encoder'), join(dir, 'text_encoder'), { recursive: true });
    for (const part of ['text_encoder', 'unet']) await rm(join(dir, part, 'config.json'));
    await expect(describeModel(dir, 'mixed')).rejects.toThrow(
      /the width of the text embeddings: unet\/model\.onnx input encoder_hidden_states says 32, but text_encoder\/model\.onnx output last_hidden_state says 768/,
    );
  });

  it("SDXL: the UNet's 64-d cross attention is not the 32-d first encoder plus a 1280-d second one", async () => {
    const dir = await copyOf('sdxl-narrow');
    await rm(join(dir, 'text_encoder_2'), { recursive: true });
    await cp(join(root, 'tiny-sdxl', 'text_encoder_2'), join(dir, 'text_encoder_2'), { recursive: true });
    await expect(describeModel(dir, 'mixed')).rejects.toThrow(
      /the parts disagree about the pooled text_embeds width: unet\/model\.onnx input text_embeds says 32, but text_encoder_2\/model\.onnx output text_embeds says 1280/,
    );
  });

  it('a UNet config that disagrees with its own graph', async () => {
    const dir = await copyOf('sd1-narrow');
    await editJson(join(dir, 'unet', 'config.json'), (config) => {
      config.cross_attention_dim = 48;
    });
    await expect(describeModel(dir, 'mixed')).rejects.toThrow(
      /the parts disagree about the UNet's text width: unet\/config\.json cross_attention_dim says 48, but unet\/model\.onnx input encoder_hidden_states says 32/,
    );
  });

  it('an SDXL time-embedding config that does not fit the time_ids input', async () => {
    const dir = await copyOf('sdxl-narrow');
    await editJson(join(dir, 'unet', 'config.json'), (config) => {
      config.projection_class_embeddings_input_dim = 32 + 8 * 5;
    });
    await expect(describeModel(dir, 'mixed')).rejects.toThrow(
      /the number of SDXL time ids: unet\/model\.onnx input time_ids says 6, but unet\/config\.json \(projection_class_embeddings_input_dim 72 = 32 pooled \+ 8 per id\) says 5/,
    );
  });

  it('a pipeline class that names the other kind of model than the UNet is', async () => {
    const sd = await copyOf('sd1-narrow');
    await editJson(join(sd, 'model_index.json'), (index) => {
      index._class_name = 'StableDiffusionXLPipeline';
    });
    await expect(describeModel(sd, 'mixed')).rejects.toThrow(
      /model_index\.json names StableDiffusionXLPipeline \(SDXL: pooled text_embeds and time ids\), but unet\/model\.onnx takes no text_embeds/,
    );
    const xl = await copyOf('sdxl-narrow');
    await editJson(join(xl, 'model_index.json'), (index) => {
      index._class_name = 'StableDiffusionPipeline';
    });
    await expect(describeModel(xl, 'mixed')).rejects.toThrow(
      /model_index\.json names StableDiffusionPipeline \(one text encoder\), but unet\/model\.onnx takes text_embeds/,
    );
  });
});
