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
import type { DiffusionModel } from '@pixels/server/engine/model.ts';
import { createNoise } from '@pixels/server/engine/noise.ts';
import { createScheduler } from '@pixels/server/engine/schedulers/create-scheduler.ts';
import { ModelRegistry } from '@pixels/server/models/model-registry.ts';
import type { StableDiffusionModel } from '@pixels/server/models/sd/stable-diffusion-model.ts';
import { writeTinyModel } from '@pixels/server/models/testing/write-tiny-model.ts';

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
  /** Our time added by one more step (edits of 2N and N steps compared): the loop alone, without VAE and prompt costs. */
  ourMsPerExtraStep: number;
  /** onnxruntime time added by one more step. */
  onnxMsPerExtraStep: number;
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
      // The engine sees a wrapper that times each predict(), to separate the adapter from the engine.
      const predictTime = { milliseconds: 0, calls: 0 };
      const timed: DiffusionModel = {
        info: model.info,
        encodeImage: (image) => model.encodeImage(image),
        decodeLatent: (latent) => model.decodeLatent(latent),
        encodePrompt: (prompt, negative, withUnconditional) => model.encodePrompt(prompt, negative, withUnconditional),
        async predict(input) {
          const started = performance.now();
          const output = await model.predict(input);
          predictTime.milliseconds += performance.now() - started;
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
          strength: 1,
          steps: stepCount,
          curve: 'linear',
          mode: 'layered',
          prompt: 'a red brick wall in the afternoon sun',
          negativePrompt: 'blurry',
          guidance,
        });
      /** Median whole-edit and onnxruntime milliseconds over the repeats, after one warm-up. */
      const measure = async (stepCount: number) => {
        await run(stepCount);
        const totals: number[] = [];
        const onnx: number[] = [];
        for (let repeat = 0; repeat < repeats; repeat++) {
          const onnxBefore = onnxMilliseconds(model);
          const started = performance.now();
          await run(stepCount);
          totals.push(performance.now() - started);
          onnx.push(onnxMilliseconds(model) - onnxBefore);
        }
        return { total: median(totals), onnx: median(onnx) };
      };
      const unet = model.sessions.unet!.stats;
      const [unetBefore, predictBefore, callsBefore] = [unet.milliseconds, predictTime.milliseconds, predictTime.calls];
      const single = await measure(steps);
      const adapterMsPerStep =
        (predictTime.milliseconds - predictBefore - (unet.milliseconds - unetBefore)) /
        (predictTime.calls - callsBefore);
      const double = await measure(2 * steps);
      const stepMs = single.total / steps;
      const onnxMsPerStep = single.onnx / steps;
      const ourMsPerStep = stepMs - onnxMsPerStep;
      const onnxMsPerExtraStep = (double.onnx - single.onnx) / steps;
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
        ourMsPerExtraStep: (double.total - single.total) / steps - onnxMsPerExtraStep,
        onnxMsPerExtraStep,
        adapterMsPerStep,
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
      `(${(100 * figure.share).toFixed(1)}% on the tiny model); loop alone ${figure.ourMsPerExtraStep.toFixed(2)} ms per extra step ` +
      `(tiny UNet ${figure.onnxMsPerExtraStep.toFixed(2)} ms); adapter around the UNet call ${figure.adapterMsPerStep.toFixed(3)} ms`,
    target: '≤ 2% of a real step',
  }));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const figures = await benchModels();
  for (const row of modelOverheadRows(figures)) console.log(`${row.figure}: ${row.value}`);
}
