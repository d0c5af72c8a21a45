import { join } from 'node:path';
import { runEditPipeline, SETTINGS_PNG_KEYWORD } from '@pixels/server/edit/edit-pipeline.ts';
import type { EditStart } from '@pixels/server/edit/edit-runner.ts';
import { decodeRgba, encodePng, type RawImage } from '@pixels/server/images/codec.ts';
import { readPngText } from '@pixels/server/images/png-text.ts';
import { cropRaw } from '@pixels/server/images/raw-rect.ts';
import { ModelRegistry } from '@pixels/server/models/model-registry.ts';
import { buildPngChunk, DEFAULT_LIMITS, EditSettings, pngChunks } from '@pixels/shared';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureAt } from '../../helpers/images.ts';
import { tempDir } from '../../helpers/temp-dirs.ts';
import { writeTinyModel } from '../../support/tiny-models/write-tiny-model.ts';

const SIZE = 256;
const LIMITS = { maxPixels: DEFAULT_LIMITS.maxPixels, maxExemplars: DEFAULT_LIMITS.maxExemplars };
let registry: ModelRegistry;
let source: Uint8Array;
let exemplar: Uint8Array;

beforeAll(async () => {
  const modelsDir = await tempDir('models');
  // A latent model with a small native area, for the region that does not fit it.
  await writeTinyModel(join(modelsDir, 'tiny-sd1'), 'sd1');
  registry = new ModelRegistry({
    modelsDir,
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
    // The whole-frame path; the crop path is pinned to it by the region tests below.
    const result = await decodeRgba((await edit({ feather: 96, strength: 0.8, region: 'full' })).png, 1 << 20);
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
    // Over the first 16 px inside the coverage the exemplar fades in from its edge: neither image.
    // (The switch's clean-up drops the sparse islands of its first few pixels, so the fade is
    // judged over the whole 16 px rather than the first 8.)
    expect(columnDifference(out, brick, 128, 144)).toBeGreaterThan(5);
    expect(columnDifference(out, grass, 128, 144)).toBeGreaterThan(5);
  });

  it("runs the pixel-space built-in model at the source's own size", async () => {
    const sizes: [number, number][] = [];
    const wide = await fixtureAt('gravel', 300, 120);
    await runEditPipeline(
      registry,
      EditSettings.parse({ steps: 4, strength: 0.5, seed: 1, region: 'full' }),
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

/** `image` with `patch` pasted at (left, top); all RGBA. */
function pasted(image: RawImage, patch: RawImage, left: number, top: number): RawImage {
  const data = new Uint8Array(image.data);
  for (let y = 0; y < patch.height; y++) {
    data.set(patch.data.subarray(y * patch.width * 4, (y + 1) * patch.width * 4), ((top + y) * image.width + left) * 4);
  }
  return { ...image, data };
}

const inBox = (x: number, y: number, from: number, to: number) => x >= from && x < to && y >= from && y < to;

/** A one-channel map: 0 outside [from, to) in x and y, rising from 1/255 to 1 across x inside it. */
function rampMap(size: number, from: number, to: number): RawImage {
  const data = new Uint8Array(size * size);
  for (let y = from; y < to; y++)
    for (let x = from; x < to; x++) data[y * size + x] = Math.max(1, Math.round((255 * (x - from)) / (to - from - 1)));
  return { data, width: size, height: size, channels: 1 };
}

describe("region 'auto': the edit runs on a crop and comes back at full resolution", () => {
  const BIG = 512;
  const PATCH = 256;
  const AT = 128; // the patch's corner in the big frame
  let big: { source: RawImage; exemplar: RawImage; map: RawImage };
  let patch: { source: RawImage; exemplar: RawImage; map: RawImage };

  beforeAll(async () => {
    const brick = await decodeRgba(await fixtureAt('brick', PATCH), 1 << 20);
    const bigSource = pasted(await decodeRgba(await fixtureAt('gravel', BIG), 1 << 20), brick, AT, AT);
    const bigExemplar = await decodeRgba(await fixtureAt('grass', BIG), 1 << 20);
    // The map touches [160, 352): with a 32 px margin the crop is exactly the brick patch.
    const bigMap = rampMap(BIG, AT + 32, AT + PATCH - 32);
    big = { source: bigSource, exemplar: bigExemplar, map: bigMap };
    const rect = { left: AT, top: AT, width: PATCH, height: PATCH };
    patch = { source: brick, exemplar: cropRaw(bigExemplar, rect), map: cropRaw(bigMap, rect) };
  });

  const run = async (images: typeof big, overrides: Partial<EditSettings>, onStart?: (start: EditStart) => void) =>
    decodeRgba(
      (
        await runEditPipeline(
          registry,
          EditSettings.parse({ steps: 10, strength: 0.8, seed: 5, regionMargin: 32, ...overrides }),
          {
            source: await encodePng(images.source),
            exemplars: [await encodePng(images.exemplar)],
            map: await encodePng(images.map),
          },
          LIMITS,
          { onStart },
        )
      ).png,
      1 << 22,
    );

  it('gives, inside the crop, the bytes the whole-frame path gives for the crop alone, and the source outside', async () => {
    let start: EditStart | undefined;
    const whole = await run(big, {}, (value) => {
      start = value;
    });
    expect(start?.crop).toEqual({ left: AT, top: AT, width: PATCH, height: PATCH });
    // A pixel-space model works at the crop's own size: the edit keeps its full resolution.
    expect([start?.width, start?.height]).toEqual([PATCH, PATCH]);
    expect([whole.width, whole.height]).toEqual([BIG, BIG]);
    const alone = await run(patch, { region: 'full' });
    let outsideDifferences = 0;
    let insideDifferences = 0;
    let changed = 0;
    for (let y = 0; y < BIG; y++) {
      for (let x = 0; x < BIG; x++) {
        const i = (y * BIG + x) * 4;
        const isInside = x >= AT && x < AT + PATCH && y >= AT && y < AT + PATCH;
        for (let c = 0; c < 4; c++) {
          if (!isInside) outsideDifferences += whole.data[i + c] !== big.source.data[i + c] ? 1 : 0;
          else {
            const j = ((y - AT) * PATCH + (x - AT)) * 4 + c;
            insideDifferences += whole.data[i + c] !== alone.data[j] ? 1 : 0;
            changed += whole.data[i + c] !== big.source.data[i + c] ? 1 : 0;
          }
        }
      }
    }
    expect(outsideDifferences).toBe(0);
    expect(insideDifferences).toBe(0);
    expect(changed).toBeGreaterThan(PATCH * PATCH); // and the edit did change the patch
  });

  it("reads only the crop's rows of the source, whichever filters its PNG uses, with the same result", async () => {
    // Ours filters with Up (the rows are undone from the inflate that splits the source's stream);
    // libvips' adaptive filters use Paeth (sharp decodes the rows); an unknown chunk makes the
    // source's stream not reusable, so it is decoded whole: the three give the same pixels.
    const settings = EditSettings.parse({ steps: 10, strength: 0.8, seed: 5, regionMargin: 32 });
    const exemplars = [await encodePng(big.exemplar)];
    const map = await encodePng(big.map);
    const ours = await encodePng(big.source);
    const libvips = new Uint8Array(
      await sharp(big.source.data, { raw: { width: BIG, height: BIG, channels: 4 } })
        .png({ adaptiveFiltering: true })
        .toBuffer(),
    );
    const chunks = [...pngChunks(ours)];
    const unknownChunk = new Uint8Array(
      Buffer.concat([
        ours.subarray(0, chunks[1].offset),
        buildPngChunk('prVt', new Uint8Array([1, 2, 3])),
        ours.subarray(chunks[1].offset),
      ]),
    );
    const results = [];
    for (const source of [ours, libvips, unknownChunk]) {
      const outcome = await runEditPipeline(registry, settings, { source, exemplars, map }, LIMITS);
      results.push(Buffer.from((await decodeRgba(outcome.png, 1 << 22)).data));
    }
    expect(results[0].equals(results[1])).toBe(true);
    expect(results[0].equals(results[2])).toBe(true);
    expect(results[0].equals(Buffer.from(big.source.data))).toBe(false);
  });

  it('refuses an RGBA source whose header claims too many pixels by name, before anything is allocated for it', async () => {
    const source = new Uint8Array(await encodePng(big.source));
    const header = [...pngChunks(source)][0];
    new DataView(source.buffer).setUint32(header.offset + 8, 60000);
    new DataView(source.buffer).setUint32(header.offset + 12, 60000);
    const inputs = { source, exemplars: [await encodePng(big.exemplar)], map: await encodePng(big.map) };
    await expect(runEditPipeline(registry, EditSettings.parse({ steps: 4 }), inputs, LIMITS)).rejects.toMatchObject({
      code: 'image_too_large',
      field: 'source',
    });
  });

  it('names a source damaged below the crop, where its rows are not read, as a decoder would', async () => {
    const source = new Uint8Array(await encodePng(big.source));
    const last = [...pngChunks(source)].filter((chunk) => chunk.type === 'IDAT').at(-1)!;
    source[last.offset + 8 + last.data.length] ^= 0xff; // the last IDAT chunk's CRC
    const inputs = { source, exemplars: [await encodePng(big.exemplar)], map: await encodePng(big.map) };
    await expect(
      runEditPipeline(registry, EditSettings.parse({ steps: 4, seed: 5, regionMargin: 32 }), inputs, LIMITS),
    ).rejects.toMatchObject({
      code: 'invalid_image',
      field: 'source',
      message: expect.stringMatching(/^The source image could not be decoded/),
    });
  });

  it("pads by the built-in model's 32 px reach: context beyond it changes no pixel inside the region by more than a level", async () => {
    // The worst case for context: a hard-edged map, white up to the region's edge, over an opaque exemplar.
    const from = 160;
    const to = 352;
    const map = {
      ...big.map,
      data: big.map.data.map((_, i) => (inBox(i % BIG, Math.floor(i / BIG), from, to) ? 255 : 0)),
    };
    const coffee = await decodeRgba(await fixtureAt('coffee', BIG), 1 << 20);
    // The same source within 32 px of the region, another photograph beyond it.
    const otherContext = { ...big.source, data: new Uint8Array(big.source.data) };
    for (let i = 0; i < BIG * BIG; i++) {
      if (inBox(i % BIG, Math.floor(i / BIG), from - 32, to + 32)) continue;
      otherContext.data.set(coffee.data.subarray(4 * i, 4 * i + 4), 4 * i);
    }
    const editWith = async (images: typeof big, regionMargin?: number) => {
      let crop: EditStart['crop'] | undefined;
      const result = await decodeRgba(
        (
          await runEditPipeline(
            registry,
            EditSettings.parse({ seed: 5, ...(regionMargin === undefined ? {} : { regionMargin }) }),
            {
              source: await encodePng(images.source),
              exemplars: [await encodePng(images.exemplar)],
              map: await encodePng(images.map),
            },
            LIMITS,
            { onStart: (start) => (crop = start.crop) },
          )
        ).png,
        1 << 22,
      );
      return { result, crop };
    };
    const byDefault = await editWith({ ...big, map });
    expect(byDefault.crop).toEqual({ left: from - 32, top: from - 32, width: to - from + 64, height: to - from + 64 });
    // A wide margin, so the context really differs, with the same crop (and so the same noise) for both.
    const real = await editWith({ ...big, map }, 96);
    const other = await editWith({ ...big, source: otherContext, map }, 96);
    let largest = 0;
    let changed = 0;
    for (let i = 0; i < BIG * BIG; i++) {
      if (!inBox(i % BIG, Math.floor(i / BIG), from, to)) continue;
      for (let c = 0; c < 3; c++) {
        largest = Math.max(largest, Math.abs(real.result.data[4 * i + c] - other.result.data[4 * i + c]));
        changed += real.result.data[4 * i + c] !== big.source.data[4 * i + c] ? 1 : 0;
      }
    }
    expect(changed).toBeGreaterThan((to - from) ** 2); // the edit did change the region
    expect(largest).toBeLessThanOrEqual(1);
  });

  it("needs no context beyond the region for a map built from the exemplar's shape: it runs on the region alone", async () => {
    // A disc of grass on a transparent exemplar, no map: the map is the disc's shape, feathered.
    const disc = { ...big.exemplar, data: new Uint8Array(big.exemplar.data) };
    for (let i = 0; i < BIG * BIG; i++) {
      const inside = ((i % BIG) + 0.5 - 256) ** 2 + (Math.floor(i / BIG) + 0.5 - 256) ** 2 < 80 ** 2;
      if (!inside) disc.data[4 * i + 3] = 0;
    }
    const editWith = async (source: RawImage, regionMargin?: number) => {
      let crop: EditStart['crop'] | undefined;
      const png = await runEditPipeline(
        registry,
        EditSettings.parse({ seed: 5, ...(regionMargin === undefined ? {} : { regionMargin }) }),
        { source: await encodePng(source), exemplars: [await encodePng(disc)] },
        LIMITS,
        { onStart: (start) => (crop = start.crop) },
      );
      return { result: await decodeRgba(png.png, 1 << 22), crop: crop! };
    };
    const byDefault = await editWith(big.source);
    // The disc (176-336) and the map's 16 px half-feather and a pixel beyond it: the region, unpadded.
    expect(byDefault.crop).toEqual({ left: 159, top: 159, width: 194, height: 194 });
    // Other surroundings right up to the region's edge change nothing inside it (same crop, so same noise).
    const region = byDefault.crop;
    const inRegion = (i: number) =>
      i % BIG >= region.left &&
      i % BIG < region.left + region.width &&
      Math.floor(i / BIG) >= region.top &&
      Math.floor(i / BIG) < region.top + region.height;
    const coffee = await decodeRgba(await fixtureAt('coffee', BIG), 1 << 20);
    const otherContext = { ...big.source, data: new Uint8Array(big.source.data) };
    for (let i = 0; i < BIG * BIG; i++)
      if (!inRegion(i)) otherContext.data.set(coffee.data.subarray(4 * i, 4 * i + 4), 4 * i);
    const real = await editWith(big.source, 64);
    const other = await editWith(otherContext, 64);
    let differences = 0;
    let changed = 0;
    for (let i = 0; i < BIG * BIG; i++) {
      if (!inRegion(i)) continue;
      for (let c = 0; c < 4; c++) {
        differences += real.result.data[4 * i + c] !== other.result.data[4 * i + c] ? 1 : 0;
        changed += real.result.data[4 * i + c] !== big.source.data[4 * i + c] ? 1 : 0;
      }
    }
    expect(changed).toBeGreaterThan(80 ** 2); // the edit did change the disc
    expect(differences).toBe(0);
  });

  it('without paste-back, keeps the source outside the crop and blends the crop in across its margin', async () => {
    const result = await run(big, { pasteBack: false, strength: 0.5 });
    const red = (x: number, y: number) => result.data[(y * BIG + x) * 4];
    const sourceRed = (x: number, y: number) => big.source.data[(y * BIG + x) * 4];
    for (let x = 0; x < AT; x += 7) expect(red(x, 300)).toBe(sourceRed(x, 300));
    // At the crop's very edge the weight is 1/64: within a few levels of the source.
    for (let y = AT; y < AT + PATCH; y += 5) expect(Math.abs(red(AT, y) - sourceRed(AT, y))).toBeLessThanOrEqual(4);
  });

  it("warns when the edit region does not fit the model's working size", async () => {
    const large = 256;
    let warnings: string[] = [];
    await run(
      {
        source: await decodeRgba(await fixtureAt('gravel', large), 1 << 22),
        exemplar: await decodeRgba(await fixtureAt('grass', large), 1 << 22),
        map: { data: new Uint8Array(large * large).fill(255), width: large, height: large, channels: 1 },
      },
      { strength: 0.2, model: 'tiny-sd1' },
      (start) => {
        warnings = start.warnings;
      },
    );
    expect(warnings).toEqual([
      "The edit region (256x256 px) is larger than the model's working size (64x64), so it is processed at 25% of its resolution; split the edit into smaller ones for full detail.",
    ]);
  });
});
