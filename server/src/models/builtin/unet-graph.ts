import { GraphBuilder, type GraphValue } from '../onnx-writer/index.ts';
import { addAlphaLookup } from './alpha-lookup.ts';
import { addPatchPriorDenoiser, type PatchPriorOptions } from './denoiser-graph.ts';

export interface UnetGraphOptions extends PatchPriorOptions {
  /** Text embedding width D of `encoder_hidden_states` (unused by the prior, declared like SD's). */
  hiddenSize: number;
  /** ᾱ for every training timestep. */
  alphasCumprod: Float64Array;
}

/** The extra UNet input through which the loader passes the clean surgical composite latent. */
export const REFERENCE_INPUT = 'reference_sample';

/** A UNet-shaped graph: SD's inputs and `out_sample` (ε), plus `reference_sample`. */
export function buildUnetGraph(options: UnetGraphOptions): GraphValue {
  const graph = new GraphBuilder('pixels_builtin_unet');
  const latentShape = ['batch', options.channels, 'height', 'width'];
  const sample = graph.input('sample', 'float32', latentShape);
  const timestep = graph.input('timestep', 'float32', ['batch']);
  graph.input('encoder_hidden_states', 'float32', ['batch', 'sequence', options.hiddenSize]);
  const reference = graph.input(REFERENCE_INPUT, 'float32', latentShape);
  const table = graph.initializer('alphas_cumprod', 'float32', [options.alphasCumprod.length], options.alphasCumprod);
  const alpha = addAlphaLookup(graph, timestep, table, options.alphasCumprod.length);
  const epsilon = addPatchPriorDenoiser(graph, sample, reference, alpha, options);
  graph.op('Identity', [epsilon], {}, { outputs: ['out_sample'] });
  graph.output('out_sample', 'float32', latentShape);
  return graph.build();
}
