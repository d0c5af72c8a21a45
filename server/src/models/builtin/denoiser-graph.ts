import { attribute, type GraphBuilder, ONNX_DATA_TYPE } from '../../onnx/writer/index.ts';

/** The shape of the two-image switch prior; see `addSwitchPriorDenoiser`. */
export interface SwitchPriorOptions {
  /** Latent channels C. */
  channels: number;
  /** Gaussian std (cells) of the window that pools how far each cell has moved towards the layer. */
  memoryBlur: number;
  /** Gaussian std (cells) of the structure field that decides where the layer shows first. */
  fieldBlur: number;
  /** Gaussian std (cells) of the neighbourhood the structure field is standardised over. */
  fieldContextBlur: number;
  /** Gaussian std (cells) splitting coarse (colour, light) from fine (texture) content. */
  bandBlur: number;
  /** Gaussian std (cells) over which the coarse band follows the fine band's switch. */
  coarseMaskBlur: number;
  /** Hysteresis: how much a neighbourhood's movement towards the layer adds to its decision. */
  commitment: number;
  /** How hard the switch is: the logit is sharpness · (field + release probit). */
  sharpness: number;
  /** The release probit over log σ² (see release-prior.ts), on a uniform grid. */
  releaseTable: { values: Float32Array; logSigmaFrom: number; logSigmaStep: number };
  /** The periodic threshold tile (dither-field.ts), `size`² values, repeated over the image. */
  dither: { values: Float32Array; size: number };
  /**
   * Weight of the images' structure in the decision field, 0..1; the dither takes √(1 − w²), so
   * the sum of the two (independent, each about N(0, 1)) stays about N(0, 1).
   */
  structureWeight: number;
  /**
   * Gaussian std (cells) of the clean-up of the switch: the mask is blurred by it and thresholded
   * again at one half, so islands and holes smaller than about this are dropped.
   */
  cleanBlur: number;
  /** Slope of the clean-up's re-threshold: the mask is clip(½ + slope·(blurred − ½), 0, 1). */
  cleanSlope: number;
}

/**
 * Appends the analytic denoiser to `graph` and returns the name of its ε output.
 *
 * Prior: every clean cell shows either the source S or the composited layers R, switching in
 * coherent regions, the coarse band (colour, brightness) following the switch over a wider region
 * than the fine band (texture), as in multi-band blending (Burt & Adelson 1983).
 *
 * With y = z/√ᾱ and σ² = (1−ᾱ)/ᾱ, a cell the loop has just freed is y = S + σ·n. Where the layer
 * shows is decided by a field f about N(0, 1): a fixed band-pass dither tile (dither-field.ts)
 * mixed with a little of the images' own structure: the layer wins where
 * f + probit(P) > 0, P being the prior probability that a cell freed at this noise level becomes
 * the layer (release-prior.ts), so the layer takes about P of each region. A decision must survive
 * the later, quieter steps: a cell that chose the layer at σ_r has moved
 * y − S = (1 − σ/σ_r)·(R − S) + σn, so the share λ it has moved (pooled over a small window) gives
 * back its release level σ_r = σ/(1 − λ), and the decision is taken at σ_r, not σ, with λ itself
 * added as hysteresis so choices near the threshold hold. A cell that stayed the source has λ ≈ 0
 * and decides at the current, lower level: it stays the source.
 *   W₀ = sigmoid(sharpness·(f + probit P(σ_r) + commitment·λ)),
 *   W = clip(½ + k·(G_k(W₀) − ½), 0, 1)   (the clean-up: islands and holes smaller than G_k go),
 *   x̂ = S + G_c(W)·L(R − S) + W·(R − S − L(R − S))
 * with L the band split. The clean-up shrinks the layer's share where P is small and grows it
 * where P is large; the release table is corrected for that (unet-graph.ts). ε̂ = (z − √ᾱ·x̂)/√(1−ᾱ), so the scheduler's x0 estimate is x̂. Everything
 * is a handful of blurs and pointwise operations: linear in the pixel count.
 *
 * @param alpha ᾱ as [B,1,1,1]
 */
export function addSwitchPriorDenoiser(
  graph: GraphBuilder,
  inputs: { sample: string; reference: string; source: string; alpha: string },
  options: SwitchPriorOptions,
): string {
  const { sample, reference, source, alpha } = inputs;
  const op = (type: string, values: string[], attributes = {}) => graph.op(type, values, attributes);
  const scalar = (value: number) => graph.scalar(value);
  const sqrtAlpha = op('Sqrt', [alpha]);
  // 1 − ᾱ reaches 0 only with set_alpha_to_one-style tables; the floor keeps the division finite.
  const noiseVariance = op('Max', [op('Sub', [scalar(1), alpha]), scalar(1e-6)]);
  const sigmaSquared = op('Div', [noiseVariance, alpha]);

  const observed = op('Div', [sample, sqrtAlpha]);
  const difference = op('Sub', [reference, source]);
  const channelSum = (value: string) =>
    graph.op('ReduceSum', [value, graph.int64s([1])], { keepdims: attribute.int(1) });
  const offset = op('Sub', [observed, source]);
  const moved = channelSum(op('Mul', [offset, difference]));
  const energy = channelSum(op('Mul', [difference, difference]));

  // How far each neighbourhood has moved towards the layer, and the noise level it was freed at.
  const memoryKernel = gaussianKernel(options.memoryBlur);
  const share = op('Div', [
    separableBlur(graph, moved, memoryKernel, 1),
    op('Add', [separableBlur(graph, energy, memoryKernel, 1), scalar(1e-4)]),
  ]);
  // Unclipped below 0, so the noise in the share is as likely to lower the release level as to raise it.
  const kept = op('Sub', [scalar(1), op('Clip', [share, scalar(-1), scalar(0.98)])]);
  const releaseLogSigma = op('Sub', [op('Log', [sigmaSquared]), op('Mul', [op('Log', [kept]), scalar(2)])]);
  const { values, logSigmaFrom, logSigmaStep } = options.releaseTable;
  const table = graph.initializer('release_probits', 'float32', [values.length], values);
  const index = graph.op(
    'Cast',
    [
      op('Round', [
        op('Clip', [
          op('Div', [op('Sub', [releaseLogSigma, scalar(logSigmaFrom)]), scalar(logSigmaStep)]),
          scalar(0),
          scalar(values.length - 1),
        ]),
      ]),
    ],
    { to: attribute.int(ONNX_DATA_TYPE.int64) },
  );
  const releaseProbit = op('Gather', [table, index]);

  // The decision field: mostly the dither tile, which switches about P of every neighbourhood a few
  // regions wide whatever the images hold; partly the brightness difference, smoothed and
  // standardised over its neighbourhood, negated so the layer tends to show first where the source
  // is brighter than its surroundings suggest (mortar lines, highlights) and the regions' edges
  // follow the images' own edges. Taken alone, that structure switched the strongest differences
  // first and whole brick columns at once, so the exemplar's share strayed from the map.
  const fieldKernel = gaussianKernel(options.fieldBlur);
  const contextKernel = gaussianKernel(options.fieldContextBlur);
  // Averages over covered cells only (normalised convolution): where no layer covers the source
  // (R = S) there is no structure, and the edge of a layer's coverage must not read as one.
  const covered = op('Cast', [op('Greater', [energy, scalar(1e-6)])], { to: attribute.int(ONNX_DATA_TYPE.float32) });
  const coveredWeight = (coverage: string) => op('Reciprocal', [op('Add', [coverage, scalar(1e-3)])]);
  const contextCoverage = separableBlur(graph, covered, contextKernel, 1);
  const fieldWeight = coveredWeight(separableBlur(graph, covered, fieldKernel, 1));
  const contextWeight = coveredWeight(contextCoverage);
  const coveredMean = (value: string, kernel: number[], weight: string) =>
    op('Mul', [separableBlur(graph, op('Mul', [value, covered]), kernel, 1), weight]);
  const brightness = coveredMean(channelSum(difference), fieldKernel, fieldWeight);
  const centred = op('Sub', [brightness, coveredMean(brightness, contextKernel, contextWeight)]);
  const spread = op('Sqrt', [
    op('Add', [coveredMean(op('Mul', [centred, centred]), contextKernel, contextWeight), scalar(1e-4)]),
  ]);
  const structure = op('Neg', [op('Div', [centred, spread])]);
  // Mixed with the dither so the field stays about N(0, 1) (the two are independent).
  const { structureWeight } = options;
  const field = op('Add', [
    op('Mul', [structure, scalar(structureWeight)]),
    op('Mul', [tiledDither(graph, sample, options.dither), scalar(Math.sqrt(1 - structureWeight ** 2))]),
  ]);
  // Hysteresis: a neighbourhood that has moved keeps moving, so choices near the threshold hold.
  const commitment = op('Mul', [op('Clip', [share, scalar(0), scalar(1)]), scalar(options.commitment)]);
  const decision = op('Add', [op('Add', [field, releaseProbit]), commitment]);
  // The layer fades in from the edge of its coverage over the context's width (0 at the edge, 0.95
  // two widths in), so a hard-edged layer neither leaves a cut line where its regions meet the
  // uncovered source nor starts the band with a step where a map's feather runs past its edge.
  const inside = op('Clip', [op('Sub', [op('Mul', [contextCoverage, scalar(2)]), scalar(1)]), scalar(0), scalar(1)]);
  // The band split within the coverage (normalised convolution): next to the edge of a layer the
  // coarse band is the mean over covered cells, not diluted by the uncovered ones, so the fine band
  // holds no step of the edge itself (that showed as a dark or bright line along it).
  const bandKernel = gaussianKernel(options.bandBlur);
  const coarse = op('Mul', [
    separableBlur(graph, difference, bandKernel, options.channels),
    op('Mul', [coveredWeight(separableBlur(graph, covered, bandKernel, 1)), covered]),
  ]);
  const fine = op('Sub', [difference, coarse]);
  const switched = op('Mul', [op('Sigmoid', [op('Mul', [decision, scalar(options.sharpness)])]), inside]);
  // The clean-up: blurred and thresholded again, the switch loses its islands and holes smaller
  // than the coarse band's reach. Left in, each showed one image's texture on the other's colour
  // (flakes of cat fur on a white cup) because the coarse band followed the surrounding region.
  const smoothed = separableBlur(graph, switched, gaussianKernel(options.cleanBlur), 1);
  const { cleanSlope } = options;
  const cleaned = op('Clip', [
    op('Sub', [op('Mul', [smoothed, scalar(cleanSlope)]), scalar((cleanSlope - 1) / 2)]),
    scalar(0),
    scalar(1),
  ]);
  const fineMask = op('Mul', [cleaned, inside]);
  const coarseMask = separableBlur(graph, fineMask, gaussianKernel(options.coarseMaskBlur), 1);
  const change = op('Add', [op('Mul', [coarseMask, coarse]), op('Mul', [fineMask, fine])]);
  const predictedClean = op('Add', [source, change]);
  const residual = op('Sub', [sample, op('Mul', [sqrtAlpha, predictedClean])]);
  return op('Div', [residual, op('Sqrt', [noiseVariance])]);
}

/** The dither tile repeated over `like`'s height and width, cut to them: [1, 1, H, W]. */
function tiledDither(graph: GraphBuilder, like: string, dither: { values: Float32Array; size: number }): string {
  const { size, values } = dither;
  const tile = graph.initializer('dither_tile', 'float32', [1, 1, size, size], values);
  const shape = graph.op('Shape', [like]);
  const extent = graph.op('Gather', [shape, graph.int64s([2, 3])]);
  // ⌈extent / size⌉ repeats (integer division of positive int64 floors).
  const repeats = graph.op('Div', [graph.op('Add', [extent, graph.int64s([size - 1])]), graph.int64s([size])]);
  const tiled = graph.op('Tile', [
    tile,
    graph.op('Concat', [graph.int64s([1, 1]), repeats], { axis: attribute.int(0) }),
  ]);
  return graph.op('Slice', [tiled, graph.int64s([0, 0]), extent, graph.int64s([2, 3])]);
}

/** A normalised 1-D Gaussian of standard deviation `std`, cut at 2.5 std. */
export function gaussianKernel(std: number): number[] {
  const radius = Math.ceil(2.5 * std);
  const weights = Array.from({ length: 2 * radius + 1 }, (_, i) => Math.exp(-((i - radius) ** 2) / (2 * std * std)));
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  return weights.map((weight) => weight / total);
}

/**
 * The same 1-D kernel along x then y, per channel, with edge padding (reflect needs the image to be
 * larger than the kernel; edge does not). `kernel` need not be normalised.
 */
function separableBlur(graph: GraphBuilder, value: string, kernel: readonly number[], channels: number): string {
  const radius = (kernel.length - 1) / 2;
  const weights = (shape: number[]) =>
    graph.initializer(
      graph.uniqueName('blur_kernel'),
      'float32',
      shape,
      Array.from({ length: channels }, () => kernel).flat(),
    );
  const convolve = (input: string, pads: number[], shape: number[]) =>
    graph.op(
      'Conv',
      [graph.op('Pad', [input, graph.int64s(pads)], { mode: attribute.string('edge') }), weights(shape)],
      { group: attribute.int(channels) },
    );
  const alongX = convolve(value, [0, 0, 0, radius, 0, 0, 0, radius], [channels, 1, 1, kernel.length]);
  return convolve(alongX, [0, 0, radius, 0, 0, 0, radius, 0], [channels, 1, kernel.length, 1]);
}
