import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describeModel } from '@pixels/server/models/describe-model.ts';
import { ModelRegistry, toSummary } from '@pixels/server/models/model-registry.ts';
import { beforeAll, describe, expect, it } from 'vitest';
import { tinyModelsFolder } from '../../helpers/tiny-model-folders.ts';

let models: string;
beforeAll(async () => {
  models = await tinyModelsFolder();
});

const PARTS = ['text_encoder', 'unet', 'vae_encoder', 'vae_decoder'];
const SDXL_PARTS = ['text_encoder', 'text_encoder_2', 'unet', 'vae_encoder', 'vae_decoder'];

/** What `pixels models` must say about each generated model. */
const expected: Record<
  string,
  {
    family: string;
    dtype: string;
    nativeSize: number;
    scheduler: string;
    guidanceMode: string;
    guidance: number;
    parts: string[];
  }
> = {
  'tiny-sd1': {
    family: 'sd1',
    dtype: 'float32',
    nativeSize: 64,
    scheduler: 'PNDMScheduler',
    guidanceMode: 'classifier-free',
    guidance: 7.5,
    parts: PARTS,
  },
  // No part configs: the size comes from SD 1.x's own (512), as for a real legacy export.
  'tiny-sd1-legacy': {
    family: 'sd1',
    dtype: 'float32',
    nativeSize: 512,
    scheduler: 'PNDMScheduler',
    guidanceMode: 'classifier-free',
    guidance: 7.5,
    parts: PARTS,
  },
  'tiny-sd1-olive': {
    family: 'sd1',
    dtype: 'float16',
    nativeSize: 64,
    scheduler: 'PNDMScheduler',
    guidanceMode: 'classifier-free',
    guidance: 7.5,
    parts: PARTS,
  },
  'tiny-sd2': {
    family: 'sd2',
    dtype: 'float32',
    nativeSize: 64,
    scheduler: 'DDIMScheduler',
    guidanceMode: 'classifier-free',
    guidance: 7.5,
    parts: PARTS,
  },
  'tiny-sd-turbo': {
    family: 'sd-turbo',
    dtype: 'float32',
    nativeSize: 64,
    scheduler: 'EulerDiscreteScheduler',
    guidanceMode: 'none',
    guidance: 0,
    parts: PARTS,
  },
  'tiny-sdxl': {
    family: 'sdxl',
    dtype: 'float32',
    nativeSize: 64,
    scheduler: 'EulerDiscreteScheduler',
    guidanceMode: 'classifier-free',
    guidance: 5,
    parts: SDXL_PARTS,
  },
  'tiny-sdxl-refiner': {
    family: 'sdxl-refiner',
    dtype: 'float32',
    nativeSize: 64,
    scheduler: 'EulerDiscreteScheduler',
    guidanceMode: 'classifier-free',
    guidance: 17.5,
    parts: ['text_encoder_2', 'unet', 'vae_encoder', 'vae_decoder'],
  },
  'tiny-sdxl-turbo': {
    family: 'sdxl-turbo',
    dtype: 'float32',
    nativeSize: 64,
    scheduler: 'EulerAncestralDiscreteScheduler',
    guidanceMode: 'none',
    guidance: 0,
    parts: SDXL_PARTS,
  },
  // diffusers' test-model widths: the structure decides, the family is the label of that structure.
  'tiny-sd1-narrow': {
    family: 'sd1',
    dtype: 'float32',
    nativeSize: 64,
    scheduler: 'PNDMScheduler',
    guidanceMode: 'classifier-free',
    guidance: 7.5,
    parts: PARTS,
  },
  'tiny-sdxl-narrow': {
    family: 'sdxl',
    dtype: 'float32',
    nativeSize: 64,
    scheduler: 'EulerDiscreteScheduler',
    guidanceMode: 'classifier-free',
    guidance: 5,
    parts: SDXL_PARTS,
  },
  'tiny-lcm': {
    family: 'lcm',
    dtype: 'float32',
    nativeSize: 64,
    scheduler: 'LCMScheduler',
    guidanceMode: 'embedded',
    guidance: 8.5,
    parts: PARTS,
  },
};

describe('model families', () => {
  it.each(Object.entries(expected))('%s is described from its configs', async (name, want) => {
    const { info, traits } = await describeModel(join(models, name), name);
    expect(info.family).toBe(want.family);
    expect(info.dtype).toBe(want.dtype);
    expect(info.nativeSize).toBe(want.nativeSize);
    expect(info.scheduler).toBe(want.scheduler);
    expect(info.guidanceMode).toBe(want.guidanceMode);
    expect(info.defaultGuidance).toBe(want.guidance);
    expect(Object.keys(info.parts).sort()).toEqual([...want.parts].sort());
    expect(info.latentChannels).toBe(4);
    expect(info.vaeScaleFactor).toBe(8);
    // The legacy export has no part configs: its family comes from the UNet's inputs.
    expect(traits.evidence).toMatch(
      name === 'tiny-sd1-legacy' ? /unet\/model\.onnx input encoder_hidden_states/ : /unet\/config\.json/,
    );
  });

  it('detects each family from input metadata alone when the exports carry no part configs', async () => {
    const bare = await tinyModelsFolder();
    for (const name of [
      'tiny-sd1',
      'tiny-sd2',
      'tiny-sdxl',
      'tiny-sdxl-refiner',
      'tiny-lcm',
      'tiny-sd-turbo',
      'tiny-sd1-narrow',
      'tiny-sdxl-narrow',
    ]) {
      for (const part of ['text_encoder', 'text_encoder_2', 'unet', 'vae_encoder', 'vae_decoder']) {
        await rm(join(bare, name, part, 'config.json'), { force: true });
      }
      const { info, traits } = await describeModel(join(bare, name), name);
      expect(info.family, name).toBe(expected[name].family);
      expect(traits.evidence, name).toMatch(/unet\/model\.onnx input/);
      expect(traits.evidence, name).not.toMatch(/config\.json/);
    }
  });

  it("the paired refiner takes the base model's second text encoder, tokenizer and VAE, and says where from", async () => {
    const { info } = await describeModel(join(models, 'tiny-sdxl-refiner-paired'), 'tiny-sdxl-refiner-paired');
    expect(info.family).toBe('sdxl-refiner');
    expect(info.parts).toEqual({
      text_encoder_2: join('..', 'tiny-sdxl', 'text_encoder_2', 'model.onnx'),
      unet: join('unet', 'model.onnx'),
      vae_encoder: join('..', 'tiny-sdxl', 'vae_encoder', 'model.onnx'),
      vae_decoder: join('..', 'tiny-sdxl', 'vae_decoder', 'model.onnx'),
    });
    expect(info.description).toMatch(/parts paired by pixels-model\.json/);
  });

  it('lists every model from configs and ONNX headers without opening a session', async () => {
    const registry = new ModelRegistry({ modelsDir: models, session: { providers: ['cpu'], intraOpThreads: 1 } });
    const listings = await registry.list();
    const names = listings.map((listing) => listing.name);
    expect(names).toEqual(['builtin', ...Object.keys(expected).concat('tiny-sdxl-refiner-paired').sort()]);
    expect(listings.every((listing) => listing.description)).toBe(true);
    for (const listing of listings) {
      const summary = toSummary(listing.description!);
      expect(Object.keys(summary).sort()).toEqual([
        'defaultGuidance',
        'description',
        'dtype',
        'family',
        'name',
        'nativeSize',
        'parts',
        'scheduler',
        'sizeMultiple',
        'usesPrompt',
        'vaeScaleFactor',
      ]);
    }
    expect(toSummary(listings[0].description!)).toMatchObject({
      name: 'builtin',
      family: 'builtin',
      usesPrompt: false,
    });
    expect(toSummary(listings.find((listing) => listing.name === 'tiny-sd1')!.description!).usesPrompt).toBe(true);
    // Nothing was loaded: the registry holds no sessions to close.
    expect((registry as unknown as { loaded: Map<string, unknown> }).loaded.size).toBe(0);
  });
});
