import { PixelsError, type ThresholdCurve, thresholds } from '@pixels/shared';
import { type DenoiseContext, denoiseStep } from './denoise-step.ts';
import { blendByCellWeight } from './latent-ops.ts';
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
  /** The step's estimate of the clean latent, for previews. */
  predictedOriginal: Tensor;
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
 * The cells in order of how many steps they stay held (longest first), and how many are held at
 * each step: hold_i = [H > thr_i] and thr_i rises with i, so the cells held at step i are always a
 * prefix of this order. Re-injection then visits only held cells.
 */
export function heldCellsByStep(holdMap: Float32Array, thresholdTable: readonly number[]) {
  const steps = thresholdTable.length;
  const heldSteps = new Uint16Array(holdMap.length);
  for (let cell = 0; cell < holdMap.length; cell++) {
    // The number of thresholds below H, by binary search over the rising table.
    let low = 0;
    let high = steps;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (holdMap[cell] > thresholdTable[middle]) low = middle + 1;
      else high = middle;
    }
    heldSteps[cell] = low;
  }
  // Counting sort by held steps, descending: start[k] = cells held longer than k steps, where
  // bucket k begins; the cells held at step i are those held longer than i steps, start[i] of them.
  const bucketSizes = new Uint32Array(steps + 1);
  for (const count of heldSteps) bucketSizes[count]++;
  const start = new Uint32Array(steps + 1);
  for (let k = steps - 1; k >= 0; k--) start[k] = start[k + 1] + bucketSizes[k + 1];
  const order = new Uint32Array(holdMap.length);
  const next = start.slice();
  for (let cell = 0; cell < holdMap.length; cell++) order[next[heldSteps[cell]]++] = cell;
  const heldCount = start.subarray(0, steps);
  return { order, heldCount };
}

/**
 * One PIXELS pass (paper, Algorithm 1 with the layer stack of Algorithm 2). The scheduler's
 * timesteps must be set; the pass runs schedule indices startIndex .. end.
 *
 * Glossary: S = source latent, E = exemplar composite, H = hold map, n_S / n_E = the one noise
 * sample per image reused at every timestep, thr_i = threshold of step i, hold_i = [H > thr_i].
 * The masking is fused and in place (one pass over the cells, no temporary latents), so PIXELS
 * costs little more than img2img in time and memory.
 */
export async function runPixelsPass(input: PixelsPassInput): Promise<Tensor> {
  const { scheduler, source, exemplars, holdMap, startIndex, noise } = input;
  const count = scheduler.timesteps.length - startIndex;
  if (count <= 0) return source;
  const cells = holdMap.length;
  const S = source.data;

  // 1. One noise sample per image, drawn in order: n_S, then n_E for each exemplar (official code).
  const sourceNoise = noise(source.shape).data;

  // 2. Thresholds over the N steps actually run, and the cells each step holds.
  const thresholdTable = thresholds(input.curve, count);
  const held = heldCellsByStep(holdMap, thresholdTable);

  // 3. The surgical latent: z = S_0 * hold_0 + E_0 * (1 - hold_0), E_0 the noised layer stack
  //    composited over S_0 by coverage, top layer last.
  const first = scheduler.noiseScales(startIndex);
  const z = new Float32Array(S.length);
  for (let i = 0; i < z.length; i++) z[i] = first.signal * S[i] + first.noise * sourceNoise[i];
  for (const layer of exemplars) {
    const E = layer.latent.data;
    const exemplarNoise = noise(layer.latent.shape).data;
    for (let cell = 0; cell < cells; cell++) {
      const coverage = layer.coverage[cell];
      if (holdMap[cell] > thresholdTable[0] || coverage === 0) continue;
      for (let i = cell; i < z.length; i += cells) {
        z[i] = coverage * (first.signal * E[i] + first.noise * exemplarNoise[i]) + (1 - coverage) * z[i];
      }
    }
  }
  // Models that condition on the request's images (the built-in one) see the clean layer stack
  // composited over S, and S itself: the map reaches them only through the loop's own holding,
  // never blended in a second time.
  const reference = compositeLayers(source, exemplars);
  const context: DenoiseContext = { ...input, reference };

  let latent: Tensor = { data: z, shape: [...source.shape] };
  for (let i = 0; i < count; i++) {
    throwIfCanceled(input.signal);
    const index = startIndex + i;
    // 4. Re-inject the source where it is still held: z = S_i * hold_i + z * (1 - hold_i).
    if (i > 0) {
      const { signal, noise: noiseScale } = scheduler.noiseScales(index);
      const data = latent.data;
      const heldCount = held.heldCount[i];
      // Plane by plane: the held cells come in ascending runs, so memory is read in order.
      for (let plane = 0; plane < data.length; plane += cells) {
        for (let k = 0; k < heldCount; k++) {
          const offset = plane + held.order[k];
          data[offset] = signal * S[offset] + noiseScale * sourceNoise[offset];
        }
      }
    }
    // 5. The usual step: prediction (with guidance), scheduler step.
    const { sample, predictedOriginal } = await denoiseStep(context, latent, index);
    latent = sample;
    await input.onStep?.({ step: i + 1, totalSteps: count, predictedOriginal });
  }
  throwIfCanceled(input.signal);
  return latent;
}
