import { attribute } from '@pixels/server/onnx/writer/index.ts';
import { type FloatType, floatInput, floatOutput, GraphBuilder, seededValues } from './graph-helpers.ts';
import { LATENT_CHANNELS } from './tiny-vae.ts';

/** How exporters declare `timestep`: int64 [B] (older), float32 [B], float32 scalar (Optimum ≥ 1.24), float16 [B] (Olive). */
export type TimestepForm = 'int64-batch' | 'float32-batch' | 'float32-scalar' | 'float16-batch';

/**
 * What the UNet computes. `random`: a cheap nonlinear mix of every input. The oracles predict a
 * known clean sample x0 and return the matching ε or v exactly:
 * `oracle-target`: x0 = the conditioning target (see `oracleTarget`), the same at every cell;
 * `oracle-still`: x0 = x / sqrt(alpha-bar), i.e. ε = 0: every step keeps what it is given, so the
 * final latent shows which noised source each cell last received (pins the PIXELS masking).
 */
export type UnetBehaviour = 'random' | 'oracle-target' | 'oracle-still';

export interface TinyUnetOptions {
  /** cross_attention_dim D of encoder_hidden_states [B, 77, D]. */
  hiddenSize: number;
  timestep: TimestepForm;
  floatType: FloatType;
  /** SDXL: text_embeds [B, textEmbedsSize] and time_ids [B, timeIds] (6 base, 5 refiner). */
  sdxl?: { textEmbedsSize: number; timeIds: 5 | 6 };
  /** LCM: the width of timestep_cond [B, w] (256). */
  timestepCondSize?: number;
  behaviour: UnetBehaviour;
  /** What the oracles return: ε (epsilon) or v (v_prediction). */
  predictionType: 'epsilon' | 'v_prediction';
  /** alpha-bar for t = 0..T-1 (the oracles need it). */
  alphasCumprod: Float64Array;
  /** A fixed-shape export: batch and latent side fixed (sizes it cannot take must be refused clearly). */
  staticShape?: { batch: number; latentSize: number };
  seed: number;
}

/** The oracle target's per-channel coefficients: x0[c] = base[c] + text[c]·mean(encoder_hidden_states[:, 1, :]) + ... */
export const ORACLE_COEFFICIENTS = Object.freeze({
  base: [0.3, -0.2, 0.1, 0.05],
  text: [1, -1, 0.5, 2],
  pooled: [0.5, 0.25, -0.5, 1],
  timeIds: [1, -0.5, 0.25, 0.75],
  guidanceEmbedding: [0.2, 0.4, -0.3, 0.1],
});

/** Weight of time_ids[k] in the oracle's time term: (k + 1) / 1000, so the order of the ids matters. */
export const timeIdWeight = (index: number): number => (index + 1) / 1000;
/** Weight of timestep_cond[k] in the oracle's guidance term. */
export const guidanceEmbeddingWeight = (index: number): number => (((index * 7) % 13) - 6) / 100;

function channelVector(graph: GraphBuilder, name: string, values: readonly number[]): string {
  return graph.initializer(name, 'float32', [1, LATENT_CHANNELS, 1, 1], values);
}

/** A per-batch-row scalar [B] → [B, 1, 1, 1]. */
function perRow(graph: GraphBuilder, value: string): string {
  return graph.op('Reshape', [value, graph.int64s([-1, 1, 1, 1])]);
}

/** alpha-bar at a (possibly fractional) timestep, sigma interpolated linearly as diffusers' Euler does. */
function alphaAt(graph: GraphBuilder, timestep: string, alphasCumprod: Float64Array): string {
  const sigmas = Array.from(alphasCumprod, (alpha) => Math.sqrt((1 - alpha) / alpha));
  const table = graph.initializer('sigmas', 'float32', [sigmas.length], sigmas);
  const clamped = graph.op('Clip', [timestep, graph.scalar(0), graph.scalar(sigmas.length - 1)]);
  const lower = graph.op('Floor', [clamped]);
  const fraction = graph.op('Sub', [clamped, lower]);
  const gather = (index: string) => graph.op('Gather', [table, graph.op('Cast', [index], { to: attribute.int(7) })]);
  const lowerSigma = gather(lower);
  const sigma = graph.op('Add', [
    lowerSigma,
    graph.op('Mul', [fraction, graph.op('Sub', [gather(graph.op('Ceil', [clamped])), lowerSigma])]),
  ]);
  const alpha = graph.op('Reciprocal', [graph.op('Add', [graph.scalar(1), graph.op('Mul', [sigma, sigma])])]);
  return perRow(graph, alpha);
}

/** A weighted sum of an input's last axis, [B, n] → [B, 1, 1, 1]. */
function weightedSum(graph: GraphBuilder, value: string, weights: number[]): string {
  const matrix = graph.initializer(`${value}_weights`, 'float32', [weights.length, 1], weights);
  return perRow(graph, graph.op('MatMul', [value, matrix]));
}

/** A UNet-shaped graph with SD's input and output names, shapes and dtypes. */
export function buildTinyUnet(options: TinyUnetOptions) {
  const graph = new GraphBuilder('unet');
  const batch = options.staticShape?.batch ?? 'batch';
  const side = options.staticShape?.latentSize;
  const { floatType } = options;
  const sample = floatInput(graph, 'sample', floatType, [batch, LATENT_CHANNELS, side ?? 'height', side ?? 'width']);
  const timestepShape = options.timestep === 'float32-scalar' ? [] : [batch];
  const timestepType = options.timestep.split('-')[0] as 'int64' | 'float32' | 'float16';
  graph.input('timestep', timestepType, timestepShape);
  const timestep = timestepType === 'float32' ? 'timestep' : graph.op('Cast', ['timestep'], { to: attribute.int(1) });
  let hidden = floatInput(graph, 'encoder_hidden_states', floatType, [batch, 'sequence_length', options.hiddenSize]);
  if (options.behaviour === 'random') {
    // Weights of a few KB, so the export has an external-data file like a real UNet's.
    const weights = seededValues(options.seed + 9, options.hiddenSize, 2);
    hidden = graph.op('Mul', [hidden, graph.initializer('text_weights', 'float32', [options.hiddenSize], weights)]);
  }
  // The oracles read the first prompt token (index 1, after the start token): it differs clearly between prompts.
  const textMean = perRow(
    graph,
    options.behaviour === 'random'
      ? graph.op('ReduceMean', [hidden], { axes: attribute.ints([1, 2]), keepdims: attribute.int(0) })
      : graph.op('ReduceMean', [graph.op('Gather', [hidden, graph.scalar(1, 'int64')], { axis: attribute.int(1) })], {
          axes: attribute.ints([1]),
          keepdims: attribute.int(0),
        }),
  );

  const terms: [string, string][] = [[textMean, 'text']];
  if (options.sdxl) {
    const pooled = floatInput(graph, 'text_embeds', floatType, [batch, options.sdxl.textEmbedsSize]);
    const timeIds = floatInput(graph, 'time_ids', floatType, [batch, options.sdxl.timeIds]);
    const pooledMean = perRow(
      graph,
      graph.op('ReduceMean', [pooled], { axes: attribute.ints([1]), keepdims: attribute.int(0) }),
    );
    terms.push([pooledMean, 'pooled']);
    terms.push([
      weightedSum(
        graph,
        timeIds,
        Array.from({ length: options.sdxl.timeIds }, (_, k) => timeIdWeight(k)),
      ),
      'timeIds',
    ]);
  }
  if (options.timestepCondSize) {
    const condition = floatInput(graph, 'timestep_cond', floatType, [batch, options.timestepCondSize]);
    const weights = Array.from({ length: options.timestepCondSize }, (_, k) => guidanceEmbeddingWeight(k));
    terms.push([weightedSum(graph, condition, weights), 'guidanceEmbedding']);
  }

  const output =
    options.behaviour === 'random'
      ? randomOutput(graph, sample, timestep, terms, options.seed)
      : oracleOutput(graph, sample, timestep, terms, options);
  floatOutput(graph, output, 'out_sample', floatType, [batch, LATENT_CHANNELS, side ?? 'height', side ?? 'width']);
  return graph.build();
}

/** tanh of a 1x1 convolution, a down/up-sampled detail path (so odd latent sides fail, as in a real UNet) and the conditioning. */
function randomOutput(
  graph: GraphBuilder,
  sample: string,
  timestep: string,
  terms: [string, string][],
  seed: number,
): string {
  const mixing = graph.initializer(
    'conv_weight',
    'float32',
    [LATENT_CHANNELS, LATENT_CHANNELS, 1, 1],
    seededValues(seed, 16, 0.6),
  );
  const pooled = graph.op('AveragePool', [sample], {
    kernel_shape: attribute.ints([2, 2]),
    strides: attribute.ints([2, 2]),
  });
  const scales = graph.initializer('upsample_scales', 'float32', [4], [1, 1, 2, 2]);
  const upsampled = graph.op('Resize', [pooled, '', scales], { mode: attribute.string('nearest') });
  const detail = graph.op('Mul', [graph.op('Sub', [sample, upsampled]), graph.scalar(0.5)]);
  let mixed = graph.op('Add', [graph.op('Conv', [sample, mixing]), detail]);
  const time = graph.op('Mul', [
    perRow(graph, timestep),
    channelVector(graph, 'time_gain', Array.from(seededValues(seed + 1, 4, 0.001))),
  ]);
  mixed = graph.op('Add', [mixed, time]);
  terms.forEach(([term], index) => {
    const gain = channelVector(graph, `term_${index}_gain`, Array.from(seededValues(seed + 2 + index, 4, 0.5)));
    mixed = graph.op('Add', [mixed, graph.op('Mul', [term, gain])]);
  });
  return graph.op('Tanh', [mixed]);
}

function oracleOutput(
  graph: GraphBuilder,
  sample: string,
  timestep: string,
  terms: [string, string][],
  options: TinyUnetOptions,
): string {
  if (options.behaviour === 'oracle-still' && options.predictionType === 'epsilon') {
    return graph.op('Mul', [sample, graph.scalar(0)]); // ε = 0 exactly
  }
  const alpha = alphaAt(graph, timestep, options.alphasCumprod);
  const signal = graph.op('Sqrt', [alpha]);
  const noise = graph.op('Sqrt', [graph.op('Sub', [graph.scalar(1), alpha])]);
  let target: string;
  if (options.behaviour === 'oracle-still') target = graph.op('Div', [sample, signal]);
  else {
    target = graph.op('Add', [
      graph.op('Mul', [sample, graph.scalar(0)]),
      channelVector(graph, 'oracle_base', ORACLE_COEFFICIENTS.base),
    ]);
    for (const [term, name] of terms) {
      const coefficients = ORACLE_COEFFICIENTS[name as keyof typeof ORACLE_COEFFICIENTS];
      target = graph.op('Add', [target, graph.op('Mul', [term, channelVector(graph, `oracle_${name}`, coefficients)])]);
    }
  }
  // x_t = sqrt(a)·x0 + sqrt(1-a)·ε  ⇒  ε = (x_t − sqrt(a)·x0)/sqrt(1-a),  v = sqrt(a)·ε − sqrt(1-a)·x0 = (sqrt(a)·x_t − x0)/sqrt(1-a)
  const numerator =
    options.predictionType === 'epsilon'
      ? graph.op('Sub', [sample, graph.op('Mul', [signal, target])])
      : graph.op('Sub', [graph.op('Mul', [signal, sample]), target]);
  return graph.op('Div', [numerator, noise]);
}
