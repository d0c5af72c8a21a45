import { mkdir, rm, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runPixels } from '../../helpers/cli.ts';
import { tinyModelsFolder } from '../../helpers/tiny-model-folders.ts';

let models: string;
beforeAll(async () => {
  models = await tinyModelsFolder();
  await mkdir(join(models, 'half-copied'));
  await truncate(join(models, 'tiny-sd2', 'unet', 'model.onnx_data'), 100);
});

describe('pixels models', () => {
  it('describes each model: family, dtype, native size, scheduler, guidance and where each part came from', async () => {
    const result = await runPixels(['models'], { PIXELS_MODELS_DIR: models });
    expect(result.code).toBe(0);
    const out = result.stdout;
    expect(out).toMatch(
      /^tiny-sd1 {2}sd1 {2}float32 {2}64px \(sides multiple of 16\) {2}PNDMScheduler {2}guidance 7\.5 {2}~50 steps$/m,
    );
    expect(out).toMatch(/^tiny-sd1-olive {2}sd1 {2}float16 {2}64px/m);
    expect(out).toMatch(
      /^tiny-sdxl-turbo {2}sdxl-turbo {2}float32 {2}64px \(sides multiple of 16\) {2}EulerAncestralDiscreteScheduler {2}no guidance {2}~4 steps$/m,
    );
    expect(out).toMatch(
      /^tiny-lcm {2}lcm {2}float32 {2}64px \(sides multiple of 16\) {2}LCMScheduler {2}guidance 8\.5 \(embedded\)/m,
    );
    expect(out).toMatch(
      /^tiny-sdxl-refiner-paired {2}sdxl-refiner .*\n {2}.*parts paired by pixels-model\.json.*\n {2}text_encoder_2: \.\.\/tiny-sdxl\/text_encoder_2\/model\.onnx\n {2}unet: unet\/model\.onnx\n {2}vae_encoder: \.\.\/tiny-sdxl\/vae_encoder\/model\.onnx/m,
    );
    expect(out).toMatch(
      /^tiny-sd2 {2}UNUSABLE\n {2}.*tiny-sd2\/unet\/model\.onnx_data: 100 bytes, .*the file is truncated\. Download it again\.$/m,
    );
    expect(out).toMatch(
      /^half-copied {2}UNUSABLE\n {2}.*half-copied is not a model folder: it has no model_index\.json.*\n {2}\(check it with: pixels models verify .*half-copied\)$/m,
    );
  });

  it('--json gives the wire summaries and the unusable folders', async () => {
    const result = await runPixels(['models', '--json'], { PIXELS_MODELS_DIR: models });
    const body = JSON.parse(result.stdout);
    expect(body.models.find((model: { name: string }) => model.name === 'tiny-lcm')).toMatchObject({
      family: 'lcm',
      nativeSize: 64,
      scheduler: 'LCMScheduler',
    });
    expect(body.broken).toEqual([
      { name: 'half-copied', error: expect.stringMatching(/no model_index\.json/) },
      { name: 'tiny-sd2', error: expect.stringMatching(/the file is truncated/) },
    ]);
  });

  it('verify: a good folder is usable after loading every part', async () => {
    const result = await runPixels(['models', 'verify', join(models, 'tiny-lcm')]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^ok: family lcm \(/m);
    expect(result.stdout).toMatch(/^ok: unet: onnxruntime loads it$/m);
    expect(result.stdout).toMatch(/tiny-lcm: usable\.$/m);
  });

  it('verify: explains what a broken folder lacks', async () => {
    await rm(join(models, 'tiny-sdxl', 'tokenizer_2'), { recursive: true });
    const result = await runPixels(['models', 'verify', join(models, 'tiny-sd2')]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /^PROBLEM: .*tiny-sd2\/unet\/model\.onnx_data: 100 bytes, but .*unet\/model\.onnx reads up to byte \d+; the file is truncated\. Download it again\.$/m,
    );
    expect(result.stdout).toMatch(/1 problem\(s\); fix them and verify again\.$/m);
    const sdxl = await runPixels(['models', 'verify', '--quick', join(models, 'tiny-sdxl')]);
    expect(sdxl.stdout).toMatch(/^PROBLEM: .*tiny-sdxl\/tokenizer_2: missing; text_encoder_2 needs its tokenizer/m);
  });

  it('devices: what runs here and what auto picks', async () => {
    const result = await runPixels(['models', 'devices']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^cpu: ok \(CPU, as asked; providers cpu\)$/m);
    expect(result.stdout).toMatch(/^auto: ok \(auto: using CPU because .*; providers cpu\)$/m);
    expect(result.stdout).toMatch(/^cuda: unavailable: onnxruntime-node's CUDA provider libraries are not installed/m);
  });

  it('an unknown subcommand is a usage error', async () => {
    const result = await runPixels(['models', 'download', 'x']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^pixels models: unknown subcommand 'download'\./);
  });
});
