import { PixelsError, type ThresholdCurve, thresholds } from '@pixels/shared';
import { type DenoiseContext, denoiseStep } from './denoise-step.ts';
import { createHeldSource, type HeldSource } from './held-source.ts';
import { blendByCellWeight } from './latent-ops.ts';
import type { NoiseScales, NoiseSource } from './scheduler.ts';
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
 * How many steps of the pass hold each cell: hold_i = [H > thr_i] and thr_i rises with i, so a
 * cell is held at steps 0 .. n - 1 and free from step n on. Computed once per pass, this turns every
 * later threshold test into one integer comparison per cell.
 */
export function heldStepCounts(holdMap: Float32Array, thresholdTable: readonly number[]): Uint16Array {
  const table = Float64Array.from(thresholdTable);
  const counts = new Uint16Array(holdMap.length);
  let count = 0;
  for (let cell = 0; cell < holdMap.length; cell++) {
    // The number of thresholds below H: a smooth map mostly repeats its neighbour's count (two
    // comparisons), else a binary search over the rising table.
    const hold = holdMap[cell];
    if ((count > 0 && !(hold > table[count - 1])) || (count < table.length && hold > table[count])) {
      let low = 0;
      let high = table.length;
      while (low < high) {
        const middle = (low + high) >>> 1;
        if (hold > table[middle]) low = middle + 1;
        else high = middle;
      }
      count = low;
    }
    counts[cell] = count;
  }
  return counts;
}

/**
 * The cells as runs of equal held-step count, in cell order: run r covers cells starts[r] ..
 * starts[r + 1] - 1, held for counts[r] steps. A smooth map has a few runs per row (one per
 * threshold its ramp crosses), so each step finds its held cells by visiting runs, not cells.
 */
export interface HeldRuns {
  /** runs + 1 values: the first cell of each run, then the cell count. */
  starts: Uint32Array;
  counts: Uint16Array;
}

export function heldRuns(heldSteps: Uint16Array): HeldRuns {
  let runs = heldSteps.length > 0 ? 1 : 0;
  for (let cell = 1; cell < heldSteps.length; cell++) if (heldSteps[cell] !== heldSteps[cell - 1]) runs++;
  const starts = new Uint32Array(runs + 1);
  const counts = new Uint16Array(runs);
  let run = 0;
  for (let cell = 0; cell < heldSteps.length; cell++) {
    if (cell > 0 && heldSteps[cell] === heldSteps[cell - 1]) continue;
    starts[run] = cell;
    counts[run++] = heldSteps[cell];
  }
  starts[runs] = heldSteps.length;
  return { starts, counts };
}

/**
 * The surgical latent of step 0 (Algorithm 1, line 3), in one new buffer: z = S_0 where held,
 * else E_0, the noised layer stack composited over S_0 by coverage, top layer last. Each layer
 * draws its own noise sample n_E, used here only (so at most one lives at a time).
 */
export function surgicalLatent(
  held: HeldSource,
  exemplars: readonly ExemplarLayer[],
  noiseSource: NoiseSource,
  runs: HeldRuns,
  scales: NoiseScales,
): Float32Array {
  const { signal, noise } = scales;
  const { starts, counts } = runs;
  const cells = starts[counts.length];
  const z = new Float32Array(held.source.length);
  held.writeInto(z, 0, z.length, scales);
  for (const { latent, coverage } of exemplars) {
    const E = latent.data;
    const exemplarNoise = noiseSource(latent.shape).data;
    // Only the runs free from step 0 on take the layer; the rest keep S_0.
    for (let run = 0; run < counts.length; run++) {
      if (counts[run] > 0) continue;
      for (let plane = 0; plane < z.length; plane += cells) {
        for (let i = plane + starts[run]; i < plane + starts[run + 1]; i++) {
          const weight = coverage[i - plane];
          if (weight === 0) continue;
          z[i] = weight * (signal * E[i] + noise * exemplarNoise[i]) + (1 - weight) * z[i];
        }
      }
    }
  }
  return z;
}

/**
 * Re-injects the source where step `step` still holds it (Algorithm 1, line 5), in place:
 * z = S_i * hold_i + z * (1 - hold_i), one stretch of consecutive held runs at a time. A plain
 * function rather than a loop inside the async pass, so V8 optimises it once across the awaits.
 */
export function reinjectHeldSource(
  z: Float32Array,
  held: HeldSource,
  runs: HeldRuns,
  step: number,
  scales: NoiseScales,
): void {
  const { starts, counts } = runs;
  const cells = starts[counts.length];
  for (let run = 0; run < counts.length; ) {
    while (run < counts.length && counts[run] <= step) run++;
    const first = starts[run];
    while (run < counts.length && counts[run] > step) run++;
    const end = starts[run];
    if (end === first) continue;
    for (let plane = 0; plane < z.length; plane += cells) held.writeInto(z, plane + first, plane + end, scales);
  }
}

/**
 * Step 5 of the pass and its report. A function of its own so that the step's outputs die with its
 * frame: a suspended async frame keeps its dead locals, and the pass holding the previous step's
 * clean estimate through the next model call cost a latent's worth of memory.
 */
async function stepAndReport(
  context: DenoiseContext,
  latent: Tensor,
  index: number,
  report: Omit<StepReport, 'predictedOriginal'>,
  onStep: PixelsPassInput['onStep'],
): Promise<Tensor> {
  const { sample, predictedOriginal } = await denoiseStep(context, latent, index);
  await onStep?.({ ...report, predictedOriginal });
  return sample;
}

/**
 * One PIXELS pass (paper, Algorithm 1 with the layer stack of Algorithm 2). The scheduler's
 * timesteps must be set; the pass runs schedule indices startIndex .. end.
 *
 * Glossary: S = source latent, E = exemplar composite, H = hold map, n_S / n_E = the one noise
 * sample per image reused at every timestep, thr_i = threshold of step i, hold_i = [H > thr_i].
 * The masking is fused and in place (no temporary latents), and the thresholds become, once per
 * pass, each cell's held-step count and runs of cells held alike, so a step re-injects the source
 * run by run and PIXELS costs little more than img2img.
 */
export async function runPixelsPass(input: PixelsPassInput): Promise<Tensor> {
  const { scheduler, source, exemplars, holdMap, startIndex, noise } = input;
  const count = scheduler.timesteps.length - startIndex;
  if (count <= 0) return source;
  // 1. One noise sample per image, drawn in order: n_S, then n_E for each exemplar (official code,
  //    in surgicalLatent). S and n_S make the held source S_i of every step.
  const held = createHeldSource(source.data, noise(source.shape).data);

  // 2. Thresholds over the N steps actually run, as runs of cells held for the same number of steps:
  //    hold_i of a cell is its run's count > i.
  const runs = heldRuns(heldStepCounts(holdMap, thresholds(input.curve, count)));

  // 3. The surgical latent: z = S_0 * hold_0 + E_0 * (1 - hold_0).
  let latent: Tensor = {
    data: surgicalLatent(held, exemplars, noise, runs, scheduler.noiseScales(startIndex)),
    shape: [...source.shape],
  };
  // Models that condition on the request's images (the built-in one) see the clean layer stack
  // composited over S, and S itself: the map reaches them only through the loop's own holding,
  // never blended in a second time.
  const reference = compositeLayers(source, exemplars);
  const context: DenoiseContext = { ...input, reference };

  for (let i = 0; i < count; i++) {
    throwIfCanceled(input.signal);
    const index = startIndex + i;
    // 4. Re-inject the source where it is still held: z = S_i * hold_i + z * (1 - hold_i).
    if (i > 0) reinjectHeldSource(latent.data, held, runs, i, scheduler.noiseScales(index));
    // 5. The usual step: prediction (with guidance), scheduler step.
    latent = await stepAndReport(context, latent, index, { step: i + 1, totalSteps: count }, input.onStep);
  }
  throwIfCanceled(input.signal);
  return latent;
}
