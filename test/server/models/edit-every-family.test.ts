/**
 * Every generated model runs a whole edit: PNG files in, PNG out, through the edit pipeline (every
 * layout, in-process) and through `pixels edit` (one model per family, as a user runs it).
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runEditPipeline } from '@pixels/server/edit/edit-pipeline.ts';
import { decodeRgba, encodePng } from '@pixels/server/images/codec.ts';
import { ModelRegistry } from '@pixels/server/models/model-registry.ts';
import { EditSettings } from '@pixels/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPixels } from '../../helpers/cli.ts';
import { fixtureAt } from '../../helpers/images.ts';
import { tinyModelsFolder } from '../../helpers/tiny-model-folders.ts';

let models: string;
let source: Uint8Array;
let exemplar: Uint8Array;
/** White (change) on the right half, black (keep) on the left. */
let map: Uint8Array;
let registry: ModelRegistry;

beforeAll(async () => {
  models = await tinyModelsFolder();
  source = await fixtureAt('brick', 64);
  exemplar = await fixtureAt('grass', 64, 64, (x) => (x >= 32 ? 1 : 0));
  map = await encodePng({
    data: Uint8Array.from({ length: 64 * 64 }, (_, i) => (i % 64 >= 32 ? 255 : 0)),
    width: 64,
    height: 64,
    channels: 1,
  });
  await writeFile(join(models, 'source.png'), source);
  await writeFile(join(models, 'exemplar.png'), exemplar);
  registry = new ModelRegistry({
    modelsDir: models,
    session: { providers: ['cpu'], intraOpThreads: 1 },
    maxResident: 2,
  });
});
afterAll(() => registry.close());

const ALL = [
  'tiny-sd1',
  'tiny-sd1-legacy',
  'tiny-sd1-olive',
  'tiny-sd2',
  'tiny-sd-turbo',
  'tiny-sdxl',
  'tiny-sdxl-refiner',
  'tiny-sdxl-refiner-paired',
  'tiny-sdxl-turbo',
  'tiny-lcm',
  'tiny-sd1-narrow',
  'tiny-sdxl-narrow',
];

describe('the edit pipeline on every generated model', () => {
  it.each(ALL)('%s', async (model) => {
    const settings = EditSettings.parse({ model, prompt: 'a red cat', steps: 4, strength: 1, seed: 3 });
    const outcome = await runEditPipeline(
      registry,
      settings,
      { source, exemplars: [exemplar], map },
      { maxPixels: 1 << 22, maxExemplars: 4 },
    );
    const image = await decodeRgba(outcome.png, 1 << 22);
    expect([image.width, image.height]).toEqual([64, 64]);
    // Paste-back keeps the left half (map black) exactly; the model changed the right half.
    const original = await decodeRgba(source, 1 << 22);
    const pixel = (data: Uint8Array, x: number, y: number) => [
      ...data.subarray((y * 64 + x) * 4, (y * 64 + x) * 4 + 3),
    ];
    expect(pixel(image.data, 2, 30)).toEqual(pixel(original.data, 2, 30));
    expect(pixel(image.data, 60, 30)).not.toEqual(pixel(original.data, 60, 30));
  });
});

describe('pixels edit from the command line, one model per family', () => {
  it.each([
    'tiny-sd1',
    'tiny-sd2',
    'tiny-sd-turbo',
    'tiny-sdxl',
    'tiny-sdxl-refiner-paired',
    'tiny-sdxl-turbo',
    'tiny-lcm',
  ])('%s', async (model) => {
    const out = join(models, `${model}.png`);
    const result = await runPixels(
      [
        'edit',
        '--model',
        model,
        '--source',
        join(models, 'source.png'),
        '--exemplar',
        join(models, 'exemplar.png'),
        '--prompt',
        'a red cat',
        '--steps',
        '4',
        '--seed',
        '5',
        '--out',
        out,
      ],
      { PIXELS_MODELS_DIR: models },
    );
    expect(result.stderr).toMatch(/device cpu: auto: using CPU because/);
    expect(result.stdout).toMatch(new RegExp(`^wrote .*${model}\\.png \\(64x64, seed 5, `, 'm'));
    expect(result.code).toBe(0);
    expect(existsSync(out)).toBe(true);
  });

  it('--device cuda on a machine without the CUDA provider: the documented error, exit 1, no output', async () => {
    const out = join(models, 'cuda.png');
    const result = await runPixels(
      [
        'edit',
        '--model',
        'tiny-sd1',
        '--device',
        'cuda',
        '--source',
        join(models, 'source.png'),
        '--exemplar',
        join(models, 'exemplar.png'),
        '--out',
        out,
      ],
      { PIXELS_MODELS_DIR: models },
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^pixels edit: --device cuda:0: onnxruntime-node's CUDA provider libraries are not installed .*ONNXRUNTIME_NODE_INSTALL=cuda12.*CUDA 12\.x.*cuDNN 9\.x/,
    );
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(out)).toBe(false);
  });

  it('--device with an unknown value is a usage error', async () => {
    const result = await runPixels([
      'edit',
      '--device',
      'tpu',
      '--source',
      'a.png',
      '--exemplar',
      'b.png',
      '--out',
      'c.png',
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--device must be one of cpu, cuda:N .*, webgpu, auto, got 'tpu'/);
  });
});
