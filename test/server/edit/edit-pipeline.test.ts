import { runEditPipeline, SETTINGS_PNG_KEYWORD } from '@pixels/server/edit/edit-pipeline.ts';
import { decodeRgba } from '@pixels/server/images/codec.ts';
import { readPngText } from '@pixels/server/images/png-text.ts';
import { ModelRegistry } from '@pixels/server/models/model-registry.ts';
import { DEFAULT_LIMITS, EditSettings } from '@pixels/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureAt } from '../../helpers/images.ts';
import { tempDir } from '../../helpers/temp-dirs.ts';

const SIZE = 256;
const LIMITS = { maxPixels: DEFAULT_LIMITS.maxPixels, maxExemplars: DEFAULT_LIMITS.maxExemplars };
let registry: ModelRegistry;
let source: Uint8Array;
let exemplar: Uint8Array;

beforeAll(async () => {
  registry = new ModelRegistry({
    modelsDir: await tempDir('models'),
    session: { providers: ['cpu'], intraOpThreads: 0 },
  });
  source = await fixtureAt('brick', SIZE);
  exemplar = await fixtureAt('grass', SIZE, SIZE, (x) => (x >= SIZE / 2 ? 1 : 0));
});
afterAll(() => registry.close());

const edit = (overrides: Partial<EditSettings>) =>
  runEditPipeline(
    registry,
    EditSettings.parse({ steps: 10, seed: 3, ...overrides }),
    { source, exemplars: [exemplar] },
    LIMITS,
  );

/** Mean absolute difference of the red channel over a column range, 0..255. */
function columnDifference(a: Uint8Array, b: Uint8Array, from: number, to: number): number {
  let sum = 0;
  for (let y = 0; y < SIZE; y++)
    for (let x = from; x < to; x++) sum += Math.abs(a[(y * SIZE + x) * 4] - b[(y * SIZE + x) * 4]);
  return sum / (SIZE * (to - from));
}

describe('the edit pipeline on the built-in model', () => {
  it('gives identical bytes for a seed, another image for another seed', async () => {
    const [a, b, c] = [await edit({}), await edit({}), await edit({ seed: 4 })];
    expect(Buffer.from(a.png).equals(Buffer.from(b.png))).toBe(true);
    expect(Buffer.from(a.png).equals(Buffer.from(c.png))).toBe(false);
    expect([a.width, a.height, a.seed]).toEqual([SIZE, SIZE, 3]);
  });

  it('gives back the source at strength 0 and embeds every setting', async () => {
    const result = await edit({ strength: 0, prompt: 'moss' });
    const original = await decodeRgba(source, 1 << 20);
    expect(Buffer.from((await decodeRgba(result.png, 1 << 20)).data).equals(Buffer.from(original.data))).toBe(true);
    const embedded = JSON.parse(readPngText(result.png).get(SETTINGS_PNG_KEYWORD)!);
    expect(embedded).toMatchObject({
      seed: 3,
      strength: 0,
      steps: 10,
      threshold: 'linear',
      model: 'builtin',
      prompt: 'moss',
    });
  });

  it('keeps the source exactly where the map keeps it, pastes the exemplar, and moves from one to the other across the band', async () => {
    const result = await decodeRgba((await edit({ feather: 96, strength: 0.8 })).png, 1 << 20);
    const brick = (await decodeRgba(source, 1 << 20)).data;
    const grass = (await decodeRgba(exemplar, 1 << 20)).data;
    const out = result.data;
    // Left of the band (more than 48 px from the edge at x = 128): the source, to the byte.
    expect(columnDifference(out, brick, 0, 72)).toBe(0);
    // Deep in the exemplar: close to the exemplar, far from the source.
    const exemplarSide = columnDifference(out, grass, 184, 256);
    expect(exemplarSide).toBeLessThan(0.5 * columnDifference(brick, grass, 184, 256));
    // In the band, the result moves away from the source and towards the exemplar, left to right.
    const towardsExemplar = [88, 108, 128, 148, 168].map(
      (x) => columnDifference(out, brick, x, x + 8) / (columnDifference(out, grass, x, x + 8) + 1e-6),
    );
    for (let i = 1; i < towardsExemplar.length; i++) expect(towardsExemplar[i]).toBeGreaterThan(towardsExemplar[i - 1]);
    // Where the band lies outside the exemplar's coverage (x < 128) the built-in model has nothing
    // else to show: the source, to within rounding of the last step's noise.
    expect(columnDifference(out, brick, 96, 124)).toBeLessThan(1);
    // Just inside the coverage the exemplar fades in from its edge: neither image yet.
    expect(columnDifference(out, brick, 128, 136)).toBeGreaterThan(5);
    expect(columnDifference(out, grass, 128, 136)).toBeGreaterThan(5);
  });

  it("runs the pixel-space built-in model at the source's own size", async () => {
    const sizes: [number, number][] = [];
    const wide = await fixtureAt('gravel', 300, 120);
    await runEditPipeline(
      registry,
      EditSettings.parse({ steps: 4, strength: 0.5, seed: 1 }),
      { source: wide, exemplars: [await fixtureAt('grass', 300, 120, (x) => (x >= 150 ? 1 : 0))] },
      LIMITS,
      { onStart: (start) => sizes.push([start.width, start.height]) },
    );
    expect(sizes).toEqual([[300, 120]]);
  });

  it('warns when few steps quantise a soft map, and not otherwise', async () => {
    const warningsOf = async (overrides: Partial<EditSettings>) => {
      let warnings: string[] = [];
      await runEditPipeline(
        registry,
        EditSettings.parse({ seed: 1, ...overrides }),
        { source, exemplars: [exemplar] },
        LIMITS,
        {
          onStart: (start) => {
            warnings = start.warnings;
          },
        },
      );
      return warnings;
    };
    expect(await warningsOf({ steps: 4, strength: 1 })).toEqual([
      "Only 4 denoising steps run, so the edit map's greys are quantised to 4 levels; raise steps or strength for a smoother blend.",
    ]);
    expect(await warningsOf({ steps: 10, strength: 1 })).toEqual([]);
    expect(await warningsOf({ steps: 4, strength: 1, feather: 0 })).toEqual([]); // a hard map has no greys
  });

  it('reports start and every step, and stops when canceled', async () => {
    const steps: number[] = [];
    const controller = new AbortController();
    const run = runEditPipeline(
      registry,
      EditSettings.parse({ steps: 10, strength: 1, seed: 1, previews: true }),
      { source, exemplars: [exemplar] },
      LIMITS,
      {
        signal: controller.signal,
        onProgress: (progress) => {
          steps.push(progress.step);
          expect(progress.preview?.[0]).toBe(0xff); // a JPEG
          if (progress.step === 3) controller.abort();
        },
      },
    );
    await expect(run).rejects.toMatchObject({ code: 'canceled' });
    expect(steps).toEqual([1, 2, 3]);
  });
});
