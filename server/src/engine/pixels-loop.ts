import { PixelsError, type ThresholdCurve, thresholds } from '@pixels/shared';
import { type DenoiseContext, denoiseStep } from './denoise-step.ts';
import { blendByCellWeight, maskAbove } from './latent-ops.ts';
import type { Tensor } from './tensor.ts';

/** One exemplar layer in the source frame: its clean latent and its coverage on the latent grid. */
export interface ExemplarLayer {
  latent: Tensor;
  /** h*w values in [0, 1]: how much of each latent cell this layer covers (its alpha). */
  coverage: Float32Array;
}

export interface StepReport {
  /** 1-based step of this pass. */
  step: number;
  totalSteps: number;
  /** The current estimate of the clean latent, for previews (null if the scheduler has none). */
  predictedOriginal: Tensor | null;
}

export interface PixelsPassInput extends Omit<DenoiseContext, 'reference'> {
  /** Clean source latent S [1, C, h, w]. */
  source: Tensor;
  /** Exemplars E_k in z-order, bottom first; the top one is composited last. */
  exemplars: readonly ExemplarLayer[];
  /** Hold map H on the latent grid: 1 keeps the source for the whole run, 0 frees it from the start. */
  holdMap: Float32Array;
  /** Index of the first schedule step run (img2img truncation by strength). */
  startIndex: number;
  curve: ThresholdCurve;
  /** Awaited, so a preview can be made before the next step starts. */
  onStep?: (report: StepReport) => void | Promise<void>;
  signal?: AbortSignal;
}

/**
 * Composites layers over a base by coverage, top layer last: the "nested" compositing of the
 * paper's Algorithm 2, generalised to a z-ordered stack.
 */
export function compositeLayers(base: Tensor, layers: readonly { latent: Tensor; coverage: Float32Array }[]): Tensor {
  return layers.reduce((under, layer) => blendByCellWeight(layer.latent, under, layer.coverage), base);
}

/** Throws the engine's cancellation error when the signal has fired (checked between steps). */
export function throwIfCanceled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new PixelsError('canceled', 'The edit was canceled.');
}

/**
 * One PIXELS pass (paper, Algorithm 1 with the layer stack of Algorithm 2). The scheduler's
 * timesteps must be set; the pass runs schedule indices startIndex .. end.
 *
 * Glossary: S = source latent, E = exemplar composite, H = hold map, n_S / n_E = the one noise
 * sample per image reused at every timestep, thr_i = threshold of step i, hold_i = [H > thr_i].
 */
export async function runPixelsPass(input: PixelsPassInput): Promise<Tensor> {
  const { scheduler, source, exemplars, holdMap, startIndex, noise } = input;
  const count = scheduler.timesteps.length - startIndex;
  if (count <= 0) return source;

  // 1. One noise sample per image: n_S for the source, n_E for each exemplar (official code).
  const sourceNoise = noise(source.shape);
  const exemplarNoises = exemplars.map((layer) => noise(layer.latent.shape));
  const noisedSource = (index: number) => scheduler.addNoise(source, sourceNoise, index);
  const noisedExemplars = (index: number) =>
    exemplars.map((layer, k) => ({
      latent: scheduler.addNoise(layer.latent, exemplarNoises[k], index),
      coverage: layer.coverage,
    }));

  // 2. Thresholds over the N steps actually run.
  const thresholdTable = thresholds(input.curve, count);
  const hold = new Float32Array(holdMap.length);

  // 3. The surgical latent: z = S_0 * hold_0 + E_0 * (1 - hold_0), E_0 the noised layer stack.
  maskAbove(holdMap, thresholdTable[0], hold);
  // Models that condition on the request's images (the built-in one) see S * H + E * (1 - H): the
  // clean layers blended by the hold map itself, so cells released mid-run find exemplar content
  // in proportion to how early they were freed. (With the binary hold_0 the ramp stays source.)
  const reference = blendByCellWeight(source, compositeLayers(source, exemplars), holdMap);
  const firstNoisedSource = noisedSource(startIndex);
  const exemplarComposite = compositeLayers(firstNoisedSource, noisedExemplars(startIndex));
  let latent = blendByCellWeight(firstNoisedSource, exemplarComposite, hold);
  const context: DenoiseContext = { ...input, reference };

  for (let i = 0; i < count; i++) {
    throwIfCanceled(input.signal);
    const index = startIndex + i;
    // 4. Re-inject the source where it is still held: z = S_i * hold_i + z * (1 - hold_i).
    if (i > 0) {
      maskAbove(holdMap, thresholdTable[i], hold);
      latent = blendByCellWeight(noisedSource(index), latent, hold);
    }
    // 5. The usual step: prediction (with guidance), scheduler step.
    latent = await denoiseStep(context, latent, index);
    await input.onStep?.({ step: i + 1, totalSteps: count, predictedOriginal: scheduler.predictedOriginal });
  }
  throwIfCanceled(input.signal);
  return latent;
}
