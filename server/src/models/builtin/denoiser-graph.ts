import { attribute, type GraphBuilder } from '../onnx-writer/index.ts';

/** The shape of the patch prior; see `addPatchPriorDenoiser`. */
export interface PatchPriorOptions {
  /** Latent channels C. */
  channels: number;
  /** Candidates come from offsets in [-windowRadius, windowRadius]² around each cell. */
  windowRadius: number;
  /** Patches compared are (2·patchRadius + 1)² cells. */
  patchRadius: number;
}

/**
 * Appends the analytic denoiser to `graph` and returns the name of its ε output.
 *
 * Prior: the clean latent is made of patches of `reference` [B,C,h,w] (the request's own surgical
 * composite), each cell's patch being one of the reference patches within a small window around it.
 * Given z = √ᾱ·x0 + √(1−ᾱ)·ε, the posterior over candidate offsets d is
 *   w_d ∝ exp(−|z_patch − √ᾱ·p_d|² / (2(1−ᾱ)))
 * and |z_patch|² is common to all candidates, so the logit is (2√ᾱ⟨z,p_d⟩ − ᾱ|p_d|²) / (2(1−ᾱ)),
 * a box filter of per-cell terms. x̂0 = Σ w_d·(centre of p_d) and ε̂ = (z − √ᾱ·x̂0)/√(1−ᾱ), so the
 * scheduler's own x0 estimate is exactly the posterior mean.
 *
 * @param alpha ᾱ as [B,1,1,1]
 */
export function addPatchPriorDenoiser(
  graph: GraphBuilder,
  sample: string,
  reference: string,
  alpha: string,
  options: PatchPriorOptions,
): string {
  const { windowRadius, patchRadius } = options;
  const windowSize = 2 * windowRadius + 1;
  const sqrtAlpha = graph.op('Sqrt', [alpha]);
  // 1 − ᾱ reaches 0 only with set_alpha_to_one-style tables; the floor keeps the division finite.
  const noiseVariance = graph.op('Max', [graph.op('Sub', [graph.scalar(1), alpha]), graph.scalar(1e-6)]);

  // Reflect padding lets border cells draw candidates from inside the image.
  const borderPads = graph.int64s([0, 0, windowRadius, windowRadius, 0, 0, windowRadius, windowRadius]);
  const paddedReference = graph.op('Pad', [reference, borderPads], { mode: attribute.string('reflect') });
  // Opset 17 still takes ReduceSumSquare's axes as an attribute (ReduceSum's moved to an input in 13).
  const paddedNorms = graph.op('ReduceSumSquare', [paddedReference], {
    axes: attribute.ints([1]),
    keepdims: attribute.int(1),
  });

  // Folding the constants into the operands: logit_d = box(⟨z·√ᾱ/(1−ᾱ)·n, p_d⟩ − |p_d|²·ᾱ/(2(1−ᾱ))·n)
  // with n = patch cells, because AveragePool divides the patch sum by n.
  const patchSize = 2 * patchRadius + 1;
  const patchCells = graph.scalar(patchSize * patchSize);
  const crossScale = graph.op('Div', [graph.op('Mul', [sqrtAlpha, patchCells]), noiseVariance]);
  const normScale = graph.op('Div', [
    graph.op('Mul', [alpha, patchCells]),
    graph.op('Mul', [noiseVariance, graph.scalar(2)]),
  ]);
  const scaledSample = graph.op('Mul', [sample, crossScale]);
  const scaledNorms = graph.op('Mul', [paddedNorms, normScale]);

  const spatialAxes = graph.int64s([2, 3]);
  const channelAxis = graph.int64s([1]);
  const candidates: string[] = [];
  const logits: string[] = [];
  for (let dy = 0; dy < windowSize; dy++) {
    for (let dx = 0; dx < windowSize; dx++) {
      // Candidate d is the reference shifted by d − windowRadius; each stays a separate [B,C,h,w]
      // tensor because one [B,K,C,h,w] stack (and Softmax over a middle axis) is several times slower.
      const starts = graph.int64s([dy, dx]);
      const ends = graph.int64s([sliceEnd(dy, windowRadius), sliceEnd(dx, windowRadius)]);
      const candidate = graph.op('Slice', [paddedReference, starts, ends, spatialAxes]);
      const norm = graph.op('Slice', [scaledNorms, starts, ends, spatialAxes]);
      const cross = graph.op('ReduceSum', [graph.op('Mul', [candidate, scaledSample]), channelAxis], {
        keepdims: attribute.int(1),
      });
      const cellTerm = graph.op('Sub', [cross, norm]);
      // Zero padding drops the same outside cells from every candidate's patch, so logits stay comparable.
      const logit = graph.op('AveragePool', [cellTerm], {
        kernel_shape: attribute.ints([patchSize, patchSize]),
        pads: attribute.ints([patchRadius, patchRadius, patchRadius, patchRadius]),
        count_include_pad: attribute.int(1),
      });
      candidates.push(candidate);
      logits.push(logit);
    }
  }
  // Softmax over the candidates, spelled out with variadic Max and Sum.
  const largestLogit = graph.op('Max', logits);
  const unnormalized = logits.map((logit) => graph.op('Exp', [graph.op('Sub', [logit, largestLogit])]));
  const weightedSum = graph.op(
    'Sum',
    candidates.map((candidate, index) => graph.op('Mul', [candidate, unnormalized[index]])),
  );
  const posteriorMean = graph.op('Div', [weightedSum, graph.op('Sum', unnormalized)]);
  const residual = graph.op('Sub', [sample, graph.op('Mul', [sqrtAlpha, posteriorMean])]);
  return graph.op('Div', [residual, graph.op('Sqrt', [noiseVariance])]);
}

/** End index of a window slice of a padded axis, counted from the end so it works for any size. */
function sliceEnd(offset: number, windowRadius: number): number {
  const fromEnd = offset - 2 * windowRadius;
  return fromEnd === 0 ? Number.MAX_SAFE_INTEGER : fromEnd;
}
