import { type GrayMap, invertMap, resampleMap, type ThresholdCurve } from '@pixels/shared';
import type { EditPlan } from './edit-plan.ts';
import type { DiffusionModel } from './model.ts';
import { type ExemplarLayer, runPixelsPass, throwIfCanceled } from './pixels-loop.ts';
import type { NoiseSource, Scheduler } from './scheduler.ts';
import type { Tensor } from './tensor.ts';

/** An exemplar already placed in the source frame at working size. */
export interface PlacedExemplar {
  /** [1, 3, H, W] in [-1, 1]: the exemplar pasted over the source by its alpha. */
  image: Tensor;
  /** Its alpha at working size: where it covers the source. */
  alpha: GrayMap;
  /** The edit map this exemplar's own pass uses in iterative mode (white = change). */
  editMap: GrayMap;
}

export interface EditImageInput {
  model: DiffusionModel;
  /** A fresh scheduler for each pass (schedulers carry state). */
  createScheduler: () => Scheduler;
  noise: NoiseSource;
  /** [1, 3, H, W] in [-1, 1], H and W multiples of the model's size multiple. */
  source: Tensor;
  /** In z-order, bottom first. */
  exemplars: readonly PlacedExemplar[];
  /** The user's edit map at working size, white = change (already inverted if asked). */
  editMap: GrayMap;
  /** From planEdit for this request and model. */
  plan: EditPlan;
  curve: ThresholdCurve;
  prompt: string;
  negativePrompt: string;
  onStep?: (step: number, totalSteps: number, predictedOriginal: Tensor) => void | Promise<void>;
  signal?: AbortSignal;
}

/** The hold map on the latent grid: 1 - edit map, area-averaged to one value per latent cell. */
function holdOnLatentGrid(editMap: GrayMap, latent: Tensor): Float32Array {
  const [, , height, width] = latent.shape;
  return invertMap(resampleMap(editMap, width, height)).data;
}

/**
 * The whole edit in latent space: encode, one PIXELS pass over the layer stack ('layered') or one
 * pass per exemplar with each output the next pass's source ('iterative'), decode.
 */
export async function editImage(input: EditImageInput): Promise<Tensor> {
  const { model, exemplars, plan } = input;
  const passes =
    plan.mode === 'iterative'
      ? exemplars.map((exemplar) => ({ layers: [exemplar], editMap: exemplar.editMap }))
      : [{ layers: exemplars, editMap: input.editMap }];
  if (passes.length !== plan.passCount) {
    throw new Error(`editImage: the plan has ${plan.passCount} passes, the ${plan.mode} edit ${passes.length}`);
  }
  if (plan.totalSteps === 0) return input.source;

  const conditioning = await model.encodePrompt(input.prompt, input.negativePrompt, plan.branches === 'both');
  let sourceImage = input.source;
  let decoded = input.source;
  for (const [passIndex, pass] of passes.entries()) {
    throwIfCanceled(input.signal);
    const scheduler = input.createScheduler();
    scheduler.setTimesteps(plan.scheduleSteps);
    const source = await model.encodeImage(sourceImage);
    const layers: ExemplarLayer[] = [];
    for (const layer of pass.layers) {
      const latent = await model.encodeImage(layer.image);
      layers.push({ latent, coverage: resampleMap(layer.alpha, latent.shape[3], latent.shape[2]).data });
    }
    const latent = await runPixelsPass({
      model,
      scheduler,
      conditioning,
      guidance: plan.guidance,
      branches: plan.branches,
      noise: input.noise,
      source,
      exemplars: layers,
      holdMap: holdOnLatentGrid(pass.editMap, source),
      startIndex: plan.startIndex,
      curve: input.curve,
      signal: input.signal,
      onStep: (report) =>
        input.onStep?.(passIndex * plan.stepsPerPass + report.step, plan.totalSteps, report.predictedOriginal),
    });
    decoded = await model.decodeLatent(latent);
    sourceImage = decoded;
  }
  return decoded;
}
