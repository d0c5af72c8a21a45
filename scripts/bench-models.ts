/**
 * Per-family overhead of our code around onnxruntime, on the tiny generated models: a whole edit
 * (prompt encoding, VAE encode, the PIXELS loop, VAE decode) at 512x512 pixels (64x64 latents),
 * timed end to end, minus the time spent inside onnxruntime's `run` for every part. What is left is
 * ours: tokenizing, scheduling, masking, tensor conversion (fp16 included) and VAE glue.
 *
 * The tiny UNets cost a fraction of a millisecond, so the share on them is far above what it is on
 * a real UNet; `ourMsPerStep` is the figure to hold against a real model's step time.
 *
 * Called by `pnpm bench` (scripts/bench.ts): `const figures = await benchModels(); rows.push(...modelOverheadRows(figures))`.
 * Run alone: `tsx scripts/bench-models.ts`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { editImage } from '@pixels/server/engine/edit-image.ts';
import { planEdit } from '@pixels/server/engine/edit-plan.ts';
import type { DiffusionModel } from '@pixels/server/engine/model.ts';
import { createNoise } from '@pixels/server/engine/noise.ts';
import { createScheduler } from '@pixels/server/engine/schedulers/create-scheduler.ts';
import { ModelRegistry } from '@pixels/server/models/model-registry.ts';
import type { StableDiffusionModel } from '@pixels/server/models/sd/stable-diffusion-model.ts';
import { writeTinyModel } from '../test/support/tiny-models/write-tiny-model.ts';

export interface ModelOverheadFigure {
  model: string;
  family: string;
  /** Latent side (pixels / 8). */
  latentSize: number;
  steps: number;
  /** UNet rows per step: 2 with classifier-free guidance. */
  unetRows: number;
  /** Whole edit time / steps (median of the repeats). */
  stepMs: number;
  /** Time inside onnxruntime's run, all parts, per step. */
  onnxMsPerStep: number;
  /** The rest: our code, per step. */
  ourMsPerStep: number;
  /** ourMsPerStep / stepMs. */
  share: number;
  /** The loop alone (first UNet call to last), our time per step: scheduling, masking, noise, guidance, the adapter. */
  loopOurMsPerStep: number;
  /** The UNet's onnxruntime time per step. */
  unetMsPerStep: number;
  /** The model adapter's own time per step: predict() wall time minus the UNet's onnxruntime time (feeds, batching, conversions). */
  adapterMsPerStep: number;
}

export interface BenchModelsOptions {
  /** Default 64 (512x512 pixels). */
  latentSize?: number;
  /** Default 10, all run (strength 1). */
  steps?: number;
  /** Timed repeats after one warm-up; the median is reported. Default 5. */
  repeats?: number;
  /** Tiny model variants; default one per family. */
  variants?: readonly string[];
}

/** One variant per family, plus the fp16 export (its conversions are ours too). */
export const BENCH_VARIANTS = [
  'sd1',
  'sd1-olive',
  'sd2',
  'sd-turbo',
  'sdxl',
  'sdxl-refiner',
  'sdxl-turbo',
  'lcm',
] as const;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

function onnxMilliseconds(model: StableDiffusionModel): number {
  return Object.values(model.sessions).reduce((sum, session) => sum + session.stats.milliseconds, 0);
}

/** Measures every variant; see the module comment for what is counted. */
export async function benchModels(options: BenchModelsOptions = {}): Promise<ModelOverheadFigure[]> {
  const latentSize = options.latentSize ?? 64;
  const steps = options.steps ?? 10;
  const repeats = options.repeats ?? 5;
  const pixels = latentSize * 8;
  const dir = await mkdtemp(join(tmpdir(), 'pixels-bench-models-'));
  const registry = new ModelRegistry({
    modelsDir: dir,
    session: { providers: ['cpu'], intraOpThreads: 1 },
    onWarning: () => {},
  });
  const figures: ModelOverheadFigure[] = [];
  try {
    for (const variant of options.variants ?? BENCH_VARIANTS) {
      const name = `tiny-${variant}`;
      await writeTinyModel(join(dir, name), variant);
      const model = (await registry.get(name)) as StableDiffusionModel;
      const image = {
        data: Float32Array.from({ length: 3 * pixels * pixels }, (_, i) => Math.sin(i / 97)),
        shape: [1, 3, pixels, pixels],
      };
      const map = {
        data: Float32Array.from({ length: pixels * pixels }, (_, i) => (i % pixels) / pixels),
        width: pixels,
        height: pixels,
      };
      const guidance = model.info.defaultGuidance;
      // The engine sees a wrapper that times each predict(): it separates the adapter from the engine,
      // and the span from the first UNet call to the end of the last one is the loop, without VAE and prompt work.
      const predictTime = { milliseconds: 0, calls: 0, firstStart: 0, lastEnd: 0 };
      const timed: DiffusionModel = {
        info: model.info,
        encodeImage: (image) => model.encodeImage(image),
        decodeLatent: (latent) => model.decodeLatent(latent),
        encodePrompt: (prompt, negative, withUnconditional) => model.encodePrompt(prompt, negative, withUnconditional),
        async predict(input) {
          const started = performance.now();
          if (predictTime.firstStart === 0) predictTime.firstStart = started;
          const output = await model.predict(input);
          predictTime.lastEnd = performance.now();
          predictTime.milliseconds += predictTime.lastEnd - started;
          predictTime.calls++;
          return output;
        },
      };
      const run = (stepCount: number) =>
        editImage({
          model: timed,
          createScheduler: () => createScheduler(model.info.schedulerConfig),
          noise: createNoise(1),
          source: image,
          exemplars: [{ image, alpha: map, editMap: map }],
          editMap: map,
          plan: planEdit(
            { steps: stepCount, strength: 1, exemplarMode: 'layered', guidance, exemplarCount: 1 },
            model.info,
          ),
          curve: 'linear',
          prompt: 'a red brick wall in the afternoon sun',
          negativePrompt: 'blurry',
        });
      const unet = model.sessions.unet!.stats;
      await run(steps);
      const totals: number[] = [];
      const onnx: number[] = [];
      const loops: number[] = [];
      const unets: number[] = [];
      const adapters: number[] = [];
      for (let repeat = 0; repeat < repeats; repeat++) {
        const onnxBefore = onnxMilliseconds(model);
        const unetBefore = unet.milliseconds;
        Object.assign(predictTime, { milliseconds: 0, calls: 0, firstStart: 0, lastEnd: 0 });
        const started = performance.now();
        await run(steps);
        totals.push(performance.now() - started);
        onnx.push(onnxMilliseconds(model) - onnxBefore);
        const unetMs = unet.milliseconds - unetBefore;
        unets.push(unetMs);
        loops.push(predictTime.lastEnd - predictTime.firstStart - unetMs);
        adapters.push((predictTime.milliseconds - unetMs) / predictTime.calls);
      }
      const stepMs = median(totals) / steps;
      const onnxMsPerStep = median(onnx) / steps;
      const ourMsPerStep = stepMs - onnxMsPerStep;
      figures.push({
        model: name,
        family: model.info.family,
        latentSize,
        steps,
        unetRows: model.info.guidanceMode === 'classifier-free' && guidance > 1 ? 2 : 1,
        stepMs,
        onnxMsPerStep,
        ourMsPerStep,
        share: ourMsPerStep / stepMs,
        loopOurMsPerStep: median(loops) / steps,
        unetMsPerStep: median(unets) / steps,
        adapterMsPerStep: median(adapters),
      });
    }
  } finally {
    await registry.close();
    await rm(dir, { recursive: true, force: true });
  }
  return figures;
}

/** Rows for the benchmark table: per family, our milliseconds per step and their share on the tiny model. */
export function modelOverheadRows(
  figures: readonly ModelOverheadFigure[],
): { figure: string; value: string; target?: string; pass?: boolean }[] {
  return figures.map((figure) => ({
    figure: `${figure.family} (${figure.model}, ${figure.unetRows} UNet row${figure.unetRows > 1 ? 's' : ''}): our code per step at ${figure.latentSize}x${figure.latentSize} latents`,
    value:
      `${figure.ourMsPerStep.toFixed(2)} ms of ${figure.stepMs.toFixed(2)} ms per step, whole edit ` +
      `(${(100 * figure.share).toFixed(1)}% on the tiny model); in the loop ${figure.loopOurMsPerStep.toFixed(2)} ms per step ` +
      `(tiny UNet ${figure.unetMsPerStep.toFixed(2)} ms), of which the adapter around the UNet call ${figure.adapterMsPerStep.toFixed(3)} ms`,
    target: '≤ 2% of a real step',
  }));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const figures = await benchModels();
  for (const row of modelOverheadRows(figures)) console.log(`${row.figure}: ${row.value}`);
}
