import { PixelsError, type ThresholdCurve, thresholds } from '@pixels/shared';
import { type DenoiseContext, denoiseStep } from './denoise-step.ts';
import { createHeldSource, type HeldSource } from './held-source.ts';
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

/** Throws the engine's cancellation error when the signal has fired (checked between steps). */
export function throwIfCanceled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new PixelsError('canceled', 'The edit was canceled.');
}

/**
 * The cells as runs held for the same number of steps, in cell order: run r covers cells
 * starts[r] .. starts[r + 1] - 1, held at steps 0 .. counts[r] - 1 and free from then on. Since
 * hold_i = [H > thr_i] and thr_i rises with i, a cell's count is the number of thresholds below its
 * H. A smooth map has a few runs per row (one per threshold its ramp crosses), so a step finds its
 * held cells by visiting runs, not cells, and every threshold test becomes one integer comparison.
 */
export interface HeldRuns {
  /** runs + 1 values: the first cell of each run, then the cell count. */
  starts: Uint32Array;
  counts: Uint16Array;
}

/** The held runs of a hold map under a pass's rising threshold table, in one sweep over the cells. */
export function heldRuns(holdMap: Float32Array, thresholdTable: readonly number[]): HeldRuns {
  const table = Float64Array.from(thresholdTable);
  const starts: number[] = [];
  const counts: number[] = [];
  let count = -1;
  for (let cell = 0; cell < holdMap.length; cell++) {
    // A smooth map mostly keeps its neighbour's count (two comparisons), else a binary search.
    const hold = holdMap[cell];
    if (count >= 0 && (count === 0 || hold > table[count - 1]) && (count === table.length || !(hold > table[count]))) {
      continue;
    }
    let low = 0;
    let high = table.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (hold > table[middle]) low = middle + 1;
      else high = middle;
    }
    if (low === count) continue;
    count = low;
    starts.push(cell);
    counts.push(count);
  }
  starts.push(holdMap.length);
  return { starts: Uint32Array.from(starts), counts: Uint16Array.from(counts) };
}

/**
 * Step 0's two composites of the layer stack over the source, one sweep per layer: the clean
 * reference R (the layers over S by coverage, top layer last: the "nested" compositing of the
 * paper's Algorithm 2, for models that condition on it) and the surgical latent (Algorithm 1,
 * line 3): z = S_0 where held at step 0, else the noised layers E_0 over S_0 alike. Each layer
 * draws its own noise sample n_E, used here only (so at most one lives at a time).
 */
export function stepZeroComposites(
  sourceLatent: Tensor,
  held: HeldSource,
  exemplars: readonly ExemplarLayer[],
  noiseSource: NoiseSource,
  runs: HeldRuns,
  scales: NoiseScales,
): { surgical: Tensor; reference: Tensor } {
  const source = sourceLatent.data;
  const surgical = new Float32Array(source.length);
  held.writeInto(surgical, 0, surgical.length, scales);
  let reference = source;
  for (const { latent, coverage } of exemplars) {
    const E = latent.data;
    const exemplarNoise = noiseSource(latent.shape).data;
    // A new buffer for the first layer; the layers above it composite in place.
    const under = reference;
    if (reference === source) reference = new Float32Array(source.length);
    compositeLayerInto(reference, E, under, coverage);
    takeLayerWhereFree(surgical, E, exemplarNoise, coverage, runs, scales);
  }
  const shape = [...sourceLatent.shape];
  return {
    surgical: { data: surgical, shape },
    reference: reference === source ? sourceLatent : { data: reference, shape },
  };
}

// The two loops of stepZeroComposites are functions of their own: as one function, V8 compiled it
// mid-loop with no feedback yet for the code after the loops and threw that code away again, seven
// times in one bench run (each time a pass's loops ran unoptimised for a while); now once each.

/**
 * out = E * coverage + under * (1 - coverage) in every channel (out may be under). Where the
 * coverage is 0 or 1 along a stretch (most of a layer: its alpha is soft only at its edge) the
 * stretch is copied from under or E, as the formula gives; a copy is several times faster than
 * the arithmetic in JavaScript.
 */
function compositeLayerInto(out: Float32Array, E: Float32Array, under: Float32Array, coverage: Float32Array): void {
  const cells = coverage.length;
  for (let cell = 0; cell < cells; ) {
    const weight = coverage[cell];
    let end = cell + 1;
    if (weight === 0 || weight === 1) {
      while (end < cells && coverage[end] === weight) end++;
      const from = weight === 1 ? E : under;
      if (from !== out) {
        for (let plane = 0; plane < out.length; plane += cells) {
          out.set(from.subarray(plane + cell, plane + end), plane + cell);
        }
      }
    } else {
      for (let plane = 0; plane < out.length; plane += cells) {
        out[plane + cell] = E[plane + cell] * weight + under[plane + cell] * (1 - weight);
      }
    }
    cell = end;
  }
}

/** z = w * E_0 + (1 - w) * z with E_0 = signal * E + noise * n_E, in the runs free at step 0 only. */
function takeLayerWhereFree(
  z: Float32Array,
  E: Float32Array,
  exemplarNoise: Float32Array,
  coverage: Float32Array,
  runs: HeldRuns,
  { signal, noise }: NoiseScales,
): void {
  const { starts, counts } = runs;
  const cells = coverage.length;
  for (let plane = 0; plane < z.length; plane += cells) {
    for (let run = 0; run < counts.length; run++) {
      if (counts[run] > 0) continue;
      for (let cell = starts[run]; cell < starts[run + 1]; cell++) {
        const weight = coverage[cell];
        if (weight === 0) continue;
        const i = plane + cell;
        z[i] = weight * (signal * E[i] + noise * exemplarNoise[i]) + (1 - weight) * z[i];
      }
    }
  }
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
 * pass, runs of cells held for the same number of steps, so a step re-injects the source run by
 * run and PIXELS costs little more than img2img.
 */
export async function runPixelsPass(input: PixelsPassInput): Promise<Tensor> {
  const { scheduler, source, exemplars, holdMap, startIndex, noise } = input;
  const count = scheduler.timesteps.length - startIndex;
  if (count <= 0) return source;
  // 1. One noise sample per image, drawn in order: n_S, then n_E for each exemplar (official code,
  //    in stepZeroComposites). S and n_S make the held source S_i of every step.
  const held = createHeldSource(source.data, (into) => noise(source.shape, into));

  // 2. Thresholds over the N steps actually run, as runs of cells held for the same number of steps:
  //    hold_i of a cell is its run's count > i.
  const runs = heldRuns(holdMap, thresholds(input.curve, count));

  // 3. The surgical latent: z = S_0 * hold_0 + E_0 * (1 - hold_0). Models that condition on the
  //    request's images (the built-in one) see the clean layer stack composited over S, and S
  //    itself: the map reaches them only through the loop's own holding, never blended in twice.
  //    (Destructured straight into the step's latent: a suspended async frame keeps its locals, and
  //    one holding step 0's latent through the pass cost a latent's worth of memory.)
  let { surgical: latent, reference } = stepZeroComposites(
    source,
    held,
    exemplars,
    noise,
    runs,
    scheduler.noiseScales(startIndex),
  );
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
