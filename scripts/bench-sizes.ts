/**
 * A whole built-in edit (decode, PIXELS, paste-back, encode) in process at 512x512 and 1024x1024:
 * the pixel-space model works at the source's own size, so its cost should grow with the pixels
 * (4x) and not much more.
 */
import { readFile } from 'node:fs/promises';
import { runEditPipeline } from '@pixels/server/edit/edit-pipeline.ts';
import { decodeRgba, encodePng, resizeRaw } from '@pixels/server/images/codec.ts';
import { ModelRegistry } from '@pixels/server/models/model-registry.ts';
import { DEFAULT_LIMITS, EditSettings } from '@pixels/shared';

export interface SizeFigures {
  /** Median whole-edit milliseconds by side length. */
  ms: Record<number, number>;
  ratio: number;
}

export async function benchSizes(options: {
  fixturesDir: string;
  modelsDir: string;
  rounds?: number;
}): Promise<SizeFigures> {
  const rounds = options.rounds ?? 3;
  const registry = new ModelRegistry({
    modelsDir: options.modelsDir,
    session: { providers: ['cpu'], intraOpThreads: 0 },
  });
  const load = async (name: string, size: number, alpha?: (x: number) => number) => {
    const image = await resizeRaw(
      await decodeRgba(await readFile(`${options.fixturesDir}/${name}.png`), 1 << 26),
      size,
      size,
      'cover',
    );
    const data = new Uint8Array(image.data);
    if (alpha) for (let p = 0; p < size * size; p++) data[p * 4 + 3] = Math.round(255 * alpha(p % size));
    return encodePng({ ...image, data });
  };
  const inputs: Record<number, { source: Uint8Array; exemplars: Uint8Array[] }> = {};
  for (const size of [512, 1024]) {
    inputs[size] = {
      source: await load('brick', size),
      exemplars: [await load('grass', size, (x) => (x >= size / 2 ? 1 : 0))],
    };
  }
  const settings = EditSettings.parse({ steps: 20, strength: 0.6, seed: 1, feather: 64 });
  const limits = { maxPixels: DEFAULT_LIMITS.maxPixels, maxExemplars: DEFAULT_LIMITS.maxExemplars };
  const times: Record<number, number[]> = { 512: [], 1024: [] };
  await runEditPipeline(registry, settings, inputs[512], limits); // warm-up
  for (let round = 0; round < rounds; round++) {
    for (const size of [512, 1024]) {
      const started = performance.now();
      const outcome = await runEditPipeline(registry, settings, inputs[size], limits);
      times[size].push(performance.now() - started);
      if (outcome.width !== size) throw new Error(`expected a ${size} px result, got ${outcome.width}`);
    }
  }
  await registry.close();
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const ms = { 512: median(times[512]), 1024: median(times[1024]) };
  return { ms, ratio: ms[1024] / ms[512] };
}
