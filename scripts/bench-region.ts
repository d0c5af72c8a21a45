/**
 * Big canvases (issue 11): crop to the edit and latent previews, measured side by side in one run.
 *
 * - Time: a 4096² source with a 512² edit region against a 512² source with the same edit (the
 *   same 512² tile, exemplar and map shape), built-in model, product default steps and strength;
 *   the two alternate in one process, medians of the rounds. Peak RSS: each case alone in a fresh
 *   process (`maxRSS`, which only a fresh process can attribute to one case).
 * - Sharpness: a 2048² source with a small edit; mean |dx| + |dy| of the result over the exemplar's,
 *   where the map is 1 (the quality harness's texture measure, scripts/quality/metrics.ts), for region 'auto' and 'full'.
 * - Previews: one step preview by the latent projection against one by the VAE decoder, on the
 *   tiny generated models at 64x64 latents.
 *
 * Called by `pnpm bench`; `pnpm bench --only region` runs these rows alone; `tsx
 * scripts/bench-region.ts case <4096|512> <modelsDir>` is the per-case child for peak RSS.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runEditPipeline } from '@pixels/server/edit/edit-pipeline.ts';
import type { EditInputs } from '@pixels/server/edit/edit-runner.ts';
import { stepPreviewJpeg } from '@pixels/server/edit/step-preview.ts';
import { projectLatentToRgb } from '@pixels/server/engine/latent-preview.ts';
import type { DiffusionModel } from '@pixels/server/engine/model.ts';
import { decodeRgba, encodePng, type RawImage, resizeRaw } from '@pixels/server/images/codec.ts';
import { rawToImageTensor } from '@pixels/server/images/pixel-tensors.ts';
import { cropRaw } from '@pixels/server/images/raw-rect.ts';
import { ModelRegistry } from '@pixels/server/models/model-registry.ts';
import { DEFAULT_LIMITS, EditSettings, type EditSettingsInput } from '@pixels/shared';
import { writeTinyModel } from '../test/support/tiny-models/write-tiny-model.ts';

const ROOT = join(import.meta.dirname, '..');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'images');
const OUTPUT = join(ROOT, 'test-output', 'bench');
const TILE = 512;
const TILE_NAMES = ['brick', 'chelsea', 'coffee', 'grass', 'gravel'] as const;
const LIMITS = { maxPixels: DEFAULT_LIMITS.maxPixels, maxExemplars: DEFAULT_LIMITS.maxExemplars };
const MB = 1024 * 1024;

export interface RegionRow {
  figure: string;
  value: string;
  target?: string;
  pass?: boolean;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function tile(name: string): Promise<RawImage> {
  return resizeRaw(await decodeRgba(await readFile(join(FIXTURES, `${name}.png`)), 1 << 26), TILE, TILE, 'cover');
}

/** A size² canvas of real photographs: the fixtures tiled at 512², so every part has detail to encode. */
async function photoCanvas(size: number): Promise<RawImage> {
  const tiles = await Promise.all(TILE_NAMES.map(tile));
  const data = new Uint8Array(size * size * 4);
  for (let ty = 0; ty < size / TILE; ty++) {
    for (let tx = 0; tx < size / TILE; tx++) {
      const from = tiles[(tx + 2 * ty) % tiles.length];
      for (let y = 0; y < TILE; y++) {
        data.set(from.data.subarray(y * TILE * 4, (y + 1) * TILE * 4), ((ty * TILE + y) * size + tx * TILE) * 4);
      }
    }
  }
  return { data, width: size, height: size, channels: 4 };
}

/**
 * The edit: `exemplar` pasted as a disc of `diameter` px centred at (cx, cy), transparent elsewhere;
 * no map, so the map is the disc's shape feathered by the default 32 px.
 */
function discExemplar(size: number, exemplar: RawImage, cx: number, cy: number, diameter: number): RawImage {
  const data = new Uint8Array(size * size * 4);
  const radius = diameter / 2;
  for (let y = 0; y < exemplar.height; y++) {
    for (let x = 0; x < exemplar.width; x++) {
      const fx = Math.round(cx - exemplar.width / 2 + x);
      const fy = Math.round(cy - exemplar.height / 2 + y);
      if (fx < 0 || fy < 0 || fx >= size || fy >= size) continue;
      const inside = (fx + 0.5 - cx) ** 2 + (fy + 0.5 - cy) ** 2 < radius * radius;
      if (!inside) continue;
      const to = (fy * size + fx) * 4;
      data.set(exemplar.data.subarray((y * exemplar.width + x) * 4, (y * exemplar.width + x) * 4 + 3), to);
      data[to + 3] = 255;
    }
  }
  return { data, width: size, height: size, channels: 4 };
}

/** The two cases of the time figure: the same 512² tile, exemplar and disc, alone or inside 4096². */
async function timingInputs(size: 4096 | 512): Promise<EditInputs> {
  // A disc of 478 px plus the map's 16 px half-feather and a pixel: a 512² edit region.
  const diameter = TILE - 34;
  const grass = await tile('grass');
  const canvas = await photoCanvas(4096);
  const at = 3 * TILE; // the tile at (3, 3): gravel
  if (size === 512) {
    return {
      source: await encodePng(cropRaw(canvas, { left: at, top: at, width: TILE, height: TILE })),
      exemplars: [await encodePng(discExemplar(TILE, grass, TILE / 2, TILE / 2, diameter))],
    };
  }
  return {
    source: await encodePng(canvas),
    exemplars: [await encodePng(discExemplar(4096, grass, at + TILE / 2, at + TILE / 2, diameter))],
  };
}

const TIMING_SETTINGS: EditSettingsInput = { seed: 11 }; // product defaults: 20 steps at strength 0.6

function createRegistry(modelsDir: string): ModelRegistry {
  return new ModelRegistry({ modelsDir, session: { providers: ['cpu'], intraOpThreads: 0 } });
}

/**
 * The per-case child: one case alone, its time and this process's peak RSS, as JSON on stdout. It
 * reads the inputs' files, so the peak is the model and the edit, not making the inputs.
 */
async function runCase(size: 4096 | 512, modelsDir: string, inputsDir: string): Promise<void> {
  const registry = createRegistry(modelsDir);
  await registry.get('builtin');
  const inputs = {
    source: new Uint8Array(await readFile(join(inputsDir, `source-${size}.png`))),
    exemplars: [new Uint8Array(await readFile(join(inputsDir, `exemplar-${size}.png`)))],
  };
  const before = process.memoryUsage.rss();
  const started = performance.now();
  const outcome = await runEditPipeline(registry, EditSettings.parse(TIMING_SETTINGS), inputs, LIMITS);
  const ms = performance.now() - started;
  const peakRss = process.resourceUsage().maxRSS * 1024;
  await registry.close();
  console.log(JSON.stringify({ ms, beforeMb: before / MB, peakMb: peakRss / MB, width: outcome.width }));
}

async function childCase(
  size: 4096 | 512,
  inputs: EditInputs,
  modelsDir: string,
): Promise<{ ms: number; beforeMb: number; peakMb: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'pixels-bench-'));
  try {
    await writeFile(join(dir, `source-${size}.png`), inputs.source);
    await writeFile(join(dir, `exemplar-${size}.png`), inputs.exemplars[0]);
    return runChild(size, modelsDir, dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function runChild(size: 4096 | 512, modelsDir: string, inputsDir: string) {
  const run = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'scripts', 'bench-region.ts'), 'case', String(size), modelsDir, inputsDir],
    { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 20 },
  );
  if (run.status !== 0) throw new Error(`bench-region case ${size} failed:\n${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').at(-1)!);
}

async function benchTime(modelsDir: string, rounds: number): Promise<RegionRow[]> {
  const loadStart = loadavg()[0];
  const registry = createRegistry(modelsDir);
  const big = await timingInputs(4096);
  const small = await timingInputs(512);
  const settings = EditSettings.parse(TIMING_SETTINGS);
  const time = async (inputs: EditInputs) => {
    const started = performance.now();
    const outcome = await runEditPipeline(registry, settings, inputs, LIMITS);
    return { ms: performance.now() - started, png: outcome.png };
  };
  await time(small); // loads the model
  const bigMs: number[] = [];
  const smallMs: number[] = [];
  let bigPng: Uint8Array | undefined;
  for (let round = 0; round < rounds; round++) {
    const a = await time(big);
    bigMs.push(a.ms);
    bigPng = a.png;
    smallMs.push((await time(small)).ms);
  }
  await registry.close();
  await mkdir(OUTPUT, { recursive: true });
  // The edited tile and its surroundings, at full resolution, to look at.
  const result = await decodeRgba(bigPng!, 1 << 26);
  await writeFile(
    join(OUTPUT, 'region-4096-edit.png'),
    await encodePng(cropRaw(result, { left: 3 * TILE - 256, top: 3 * TILE - 256, width: 1024, height: 1024 })),
  );
  const ratio = median(bigMs) / median(smallMs);
  const loadDuring = loadavg()[0];
  const bigAlone = await childCase(4096, big, modelsDir);
  const smallAlone = await childCase(512, small, modelsDir);
  return [
    { figure: '512² source, 512² edit region (median)', value: `${median(smallMs).toFixed(0)} ms` },
    { figure: '4096² source, the same 512² edit region (median)', value: `${median(bigMs).toFixed(0)} ms` },
    { figure: '4096² / 512² time', value: ratio.toFixed(2), target: '≤ 1.3', pass: ratio <= 1.3 },
    {
      figure: "machine load while timing (1-minute load average; this machine's 2 cores are shared)",
      value: `${loadStart.toFixed(1)} → ${loadDuring.toFixed(1)}`,
    },
    {
      figure: 'peak RSS, 4096² case alone in a fresh process (after loading the model)',
      value: `${bigAlone.peakMb.toFixed(0)} MB (${bigAlone.beforeMb.toFixed(0)} MB)`,
    },
    {
      figure: 'peak RSS, 512² case alone in a fresh process (after loading the model)',
      value: `${smallAlone.peakMb.toFixed(0)} MB (${smallAlone.beforeMb.toFixed(0)} MB)`,
    },
  ];
}

/** Mean |dx| + |dy| of the RGB channels over the pixels where `where` holds. */
function texture(image: RawImage, where: (x: number, y: number) => boolean): number {
  const { data, width, height, channels } = image;
  let sum = 0;
  let count = 0;
  for (let y = 0; y < height - 1; y++) {
    for (let x = 0; x < width - 1; x++) {
      if (!where(x, y)) continue;
      const i = (y * width + x) * channels;
      for (let c = 0; c < 3; c++) {
        sum += Math.abs(data[i + channels + c] - data[i + c]) + Math.abs(data[i + width * channels + c] - data[i + c]);
      }
      count++;
    }
  }
  return sum / (3 * count);
}

async function benchSharpness(modelsDir: string): Promise<RegionRow[]> {
  const registry = createRegistry(modelsDir);
  const size = 2048;
  const canvas = await photoCanvas(size);
  const grass = await tile('grass');
  const rows: RegionRow[] = [];
  for (const diameter of [350, TILE - 34]) {
    const cx = 1100;
    const cy = 900;
    const exemplar = discExemplar(size, grass, cx, cy, diameter);
    const inputs = { source: await encodePng(canvas), exemplars: [await encodePng(exemplar)] };
    // Where the map is 1: more than the half-feather (16 px) inside the disc's edge.
    const deepInside = (x: number, y: number) => (x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 < (diameter / 2 - 17) ** 2;
    const reference = texture(exemplar, deepInside);
    const region = diameter + 34;
    for (const mode of ['auto', 'full'] as const) {
      const outcome = await runEditPipeline(
        registry,
        EditSettings.parse({ ...TIMING_SETTINGS, region: mode }),
        inputs,
        LIMITS,
      );
      const result = await decodeRgba(outcome.png, 1 << 26);
      const ratio = texture(result, deepInside) / reference;
      const isTarget = mode === 'auto' && diameter === 350;
      rows.push({
        figure: `2048² source, ${region}² edit region, region '${mode}': texture of the edit / the exemplar's`,
        value: ratio.toFixed(2),
        ...(isTarget ? { target: '≥ 0.9', pass: ratio >= 0.9 } : {}),
      });
      if (diameter === 350) {
        const view = { left: cx - 256, top: cy - 256, width: 512, height: 512 };
        await writeFile(join(OUTPUT, `region-2048-${mode}.png`), await encodePng(cropRaw(result, view)));
      }
    }
  }
  // The model's own texture at 1:1: the same disc on a 512² source, the working size, region 'full'.
  const diameter = 350;
  const local = cropRaw(canvas, { left: 1100 - 256, top: 900 - 256, width: TILE, height: TILE });
  const outcome = await runEditPipeline(
    registry,
    EditSettings.parse({ ...TIMING_SETTINGS, region: 'full' }),
    {
      source: await encodePng(local),
      exemplars: [await encodePng(discExemplar(TILE, grass, TILE / 2, TILE / 2, diameter))],
    },
    LIMITS,
  );
  const deepInside = (x: number, y: number) =>
    (x + 0.5 - TILE / 2) ** 2 + (y + 0.5 - TILE / 2) ** 2 < (diameter / 2 - 17) ** 2;
  const reference = texture(discExemplar(TILE, grass, TILE / 2, TILE / 2, diameter), deepInside);
  rows.push({
    figure: "reference: the same 384² edit region on a 512² source at 1:1 (no resampling), region 'full'",
    value: (texture(await decodeRgba(outcome.png, 1 << 24), deepInside) / reference).toFixed(2),
  });
  await registry.close();
  return rows;
}

async function benchPreviews(repeats: number): Promise<RegionRow[]> {
  const dir = await mkdtemp(join(tmpdir(), 'pixels-bench-'));
  try {
    for (const name of ['sd1', 'sdxl']) await writeTinyModel(join(dir, `tiny-${name}`), name);
    const registry = new ModelRegistry({ modelsDir: dir, session: { providers: ['cpu'], intraOpThreads: 0 } });
    const rows: RegionRow[] = [];
    const image = rawToImageTensor(await tile('coffee'));
    for (const name of ['tiny-sd1', 'tiny-sdxl']) {
      const model = await registry.get(name);
      const latent = await model.encodeImage(image); // 64x64 latents
      // The same model without its projection: previews then go through the VAE decoder.
      const decoding: DiffusionModel = {
        info: { ...model.info, latentPreview: undefined },
        encodeImage: (value) => model.encodeImage(value),
        decodeLatent: (value) => model.decodeLatent(value),
        encodePrompt: (...args) => model.encodePrompt(...args),
        predict: (input) => model.predict(input),
      };
      const working = { width: TILE, height: TILE };
      const time = async (work: () => Promise<unknown>) => {
        await work();
        const times: number[] = [];
        for (let i = 0; i < repeats; i++) {
          const started = performance.now();
          await work();
          times.push(performance.now() - started);
        }
        return median(times);
      };
      const projection = model.info.latentPreview!;
      const projectOnly = await time(async () => projectLatentToRgb(latent, projection));
      const decodeOnly = await time(() => model.decodeLatent(latent));
      const projected = await time(() => stepPreviewJpeg(model, latent, working));
      const decoded = await time(() => stepPreviewJpeg(decoding, latent, working));
      rows.push({
        figure: `${name}: latent → RGB per step at 64x64 latents, projection / VAE decode (median)`,
        value: `${projectOnly.toFixed(2)} / ${decodeOnly.toFixed(2)} ms`,
      });
      rows.push({
        figure: `${name}: whole step preview (with the resize to 256² and the JPEG), projected / decoded`,
        value: `${projected.toFixed(2)} / ${decoded.toFixed(2)} ms`,
      });
    }
    await registry.close();
    return rows;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface RegionSections {
  time: RegionRow[];
  sharpness: RegionRow[];
  previews: RegionRow[];
}

export async function benchRegion(options: { modelsDir: string; rounds?: number }): Promise<RegionSections> {
  await mkdir(OUTPUT, { recursive: true });
  console.error('bench: big canvas, 4096² vs 512²…');
  const time = await benchTime(options.modelsDir, options.rounds ?? 5);
  console.error('bench: sharpness of a small edit on 2048²…');
  const sharpness = await benchSharpness(options.modelsDir);
  console.error('bench: step previews…');
  const previews = await benchPreviews(20);
  return { time, sharpness, previews };
}

if (process.argv[2] === 'case') {
  await runCase(Number(process.argv[3]) as 4096 | 512, process.argv[4], process.argv[5]);
}
