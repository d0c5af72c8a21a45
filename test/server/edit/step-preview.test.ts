/**
 * Step previews come from the latent by a linear projection, not from the VAE decoder. On the
 * built-in model (whose latent is the image times 3) the projection is exact, so its preview of an
 * encoded fixture must match a downscaled copy. The tiny generated SD models have analytic VAEs
 * that the published factors were not fitted to: on them these tests check only shapes and
 * plumbing (and that the decoder runs once, for the final image), not the preview's colours.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runEditPipeline } from '@pixels/server/edit/edit-pipeline.ts';
import { previewSize, stepPreviewJpeg } from '@pixels/server/edit/step-preview.ts';
import { projectLatentToRgb } from '@pixels/server/engine/latent-preview.ts';
import { decodeRgba, resizeRaw } from '@pixels/server/images/codec.ts';
import { imageTensorToRaw, rawToImageTensor } from '@pixels/server/images/pixel-tensors.ts';
import { BUILTIN_DESIGN } from '@pixels/server/models/builtin/index.ts';
import { LATENT_RGB_FACTORS } from '@pixels/server/models/latent-rgb-factors.ts';
import { ModelRegistry } from '@pixels/server/models/model-registry.ts';
import type { StableDiffusionModel } from '@pixels/server/models/sd/stable-diffusion-model.ts';
import { DEFAULT_LIMITS, EditSettings } from '@pixels/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, fixtureAt } from '../../helpers/images.ts';
import { writeTinyModel } from '../../support/tiny-models/write-tiny-model.ts';

let modelsDir: string;
let registry: ModelRegistry;

beforeAll(async () => {
  modelsDir = await mkdtemp(join(tmpdir(), 'pixels-models-'));
  for (const name of ['sd1', 'sdxl']) await writeTinyModel(join(modelsDir, `tiny-${name}`), name);
  registry = new ModelRegistry({ modelsDir, session: { providers: ['cpu'], intraOpThreads: 1 }, maxResident: 3 });
});
afterAll(async () => {
  await registry.close();
  await rm(modelsDir, { recursive: true, force: true });
});

function meanAbsoluteDifference(a: Uint8Array, b: Uint8Array, channelsA: number, channelsB: number): number {
  const pixels = a.length / channelsA;
  let sum = 0;
  for (let i = 0; i < pixels; i++)
    for (let c = 0; c < 3; c++) sum += Math.abs(a[i * channelsA + c] - b[i * channelsB + c]);
  return sum / (3 * pixels);
}

describe('latent previews', () => {
  it('on the built-in model, the projection of an encoded fixture is the fixture, and its JPEG a downscaled copy', async () => {
    const model = await registry.get('builtin');
    // Its latent is the image times the VAE scaling factor: the projection divides that back out.
    const inverse = 1 / BUILTIN_DESIGN.scalingFactor;
    expect(model.info.latentPreview).toEqual({
      factors: [
        [inverse, 0, 0],
        [0, inverse, 0],
        [0, 0, inverse],
      ],
      bias: [0, 0, 0],
    });
    const image = await decodeRgba(await fixtureAt('chelsea', 384, 288), 1 << 22);
    const latent = await model.encodeImage(rawToImageTensor(image));
    const projected = imageTensorToRaw(projectLatentToRgb(latent, model.info.latentPreview!));
    expect([projected.width, projected.height]).toEqual([384, 288]);
    expect(meanAbsoluteDifference(projected.data, image.data, 3, 4)).toBeLessThan(0.51);

    const jpeg = await stepPreviewJpeg(model, latent, { width: 384, height: 288 });
    const preview = await decodeRgba(jpeg, 1 << 20);
    expect([preview.width, preview.height]).toEqual([256, 192]);
    const downscaled = await resizeRaw(image, 256, 192);
    expect(meanAbsoluteDifference(preview.data, downscaled.data, 4, 4)).toBeLessThan(4);
    // ...and it is not just any picture: another fixture is far off.
    const other = await resizeRaw(await decodeRgba(fixture('gravel'), 1 << 22), 256, 192, 'cover');
    expect(meanAbsoluteDifference(preview.data, other.data, 4, 4)).toBeGreaterThan(20);
  });

  it.each([
    ['tiny-sd1', LATENT_RGB_FACTORS.sd],
    ['tiny-sdxl', LATENT_RGB_FACTORS.sdxl],
  ])('%s: the family table, applied at latent resolution, upscaled to the preview size', async (name, table) => {
    const model = await registry.get(name);
    expect(model.info.latentPreview).toBe(table);
    const image = await decodeRgba(await fixtureAt('coffee', 512), 1 << 22);
    const latent = await model.encodeImage(rawToImageTensor(image));
    expect(latent.shape).toEqual([1, 4, 64, 64]);
    const projected = projectLatentToRgb(latent, table);
    expect(projected.shape).toEqual([1, 3, 64, 64]);
    // One cell by hand: the bias plus the channels times the table's red column.
    const plane = 64 * 64;
    const cell = 10 * 64 + 20;
    let red = table.bias[0];
    for (let c = 0; c < 4; c++) red += latent.data[c * plane + cell] * table.factors[c][0];
    expect(projected.data[cell]).toBeCloseTo(red, 6);
    const preview = await decodeRgba(await stepPreviewJpeg(model, latent, { width: 512, height: 512 }), 1 << 20);
    expect([preview.width, preview.height]).toEqual([256, 256]);
  });

  it('previews every step while the VAE decoder runs once, for the final image', async () => {
    const model = (await registry.get('tiny-sd1')) as StableDiffusionModel;
    const decoder = model.sessions.vae_decoder!;
    const runsBefore = decoder.stats.runs;
    const previews: Uint8Array[] = [];
    await runEditPipeline(
      registry,
      EditSettings.parse({ model: 'tiny-sd1', steps: 6, strength: 1, seed: 2, previews: true }),
      { source: await fixtureAt('brick', 64), exemplars: [await fixtureAt('grass', 64, 64, (x) => (x >= 32 ? 1 : 0))] },
      { maxPixels: DEFAULT_LIMITS.maxPixels, maxExemplars: DEFAULT_LIMITS.maxExemplars },
      { onProgress: (progress) => progress.preview && previews.push(progress.preview) },
    );
    expect(previews.length).toBe(6);
    expect(decoder.stats.runs - runsBefore).toBe(1);
  });

  it('previews fit 256 px on the long side and never exceed the working size', () => {
    expect(previewSize({ width: 1024, height: 512 })).toEqual({ width: 256, height: 128 });
    expect(previewSize({ width: 64, height: 96 })).toEqual({ width: 64, height: 96 });
  });
});
