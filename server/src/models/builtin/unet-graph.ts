import { GraphBuilder, type GraphValue } from '../../onnx/writer/index.ts';
import { REFERENCE_INPUT, SOURCE_INPUT } from '../exemplar-inputs.ts';
import { addAlphaLookup } from './alpha-lookup.ts';
import { addSwitchPriorDenoiser, type SwitchPriorOptions } from './denoiser-graph.ts';
import { cleanedShares, type DitherOptions, ditherTile, inverseShare } from './dither-field.ts';
import { LOG_SIGMA_FROM, LOG_SIGMA_STEP, releaseProbitTable } from './release-prior.ts';

export interface UnetGraphOptions extends Omit<SwitchPriorOptions, 'releaseTable' | 'dither'> {
  /** The dither tile's shape (dither-field.ts). */
  dither: DitherOptions;
  /** The strength at which the layer's share of the band equals the map (release-prior.ts). */
  designStrength: number;
  /** Text embedding width D of `encoder_hidden_states` (unused by the prior, declared like SD's). */
  hiddenSize: number;
  /** ᾱ for every training timestep. */
  alphasCumprod: Float64Array;
}

/** A UNet-shaped graph: SD's inputs and `out_sample` (ε), plus `reference_sample` and `source_sample`. */
export function buildUnetGraph(options: UnetGraphOptions): GraphValue {
  const graph = new GraphBuilder('pixels_builtin_unet');
  const latentShape = ['batch', options.channels, 'height', 'width'];
  const sample = graph.input('sample', 'float32', latentShape);
  const timestep = graph.input('timestep', 'float32', ['batch']);
  graph.input('encoder_hidden_states', 'float32', ['batch', 'sequence', options.hiddenSize]);
  const reference = graph.input(REFERENCE_INPUT, 'float32', latentShape);
  const source = graph.input(SOURCE_INPUT, 'float32', latentShape);
  const steps = options.alphasCumprod.length;
  const table = graph.initializer('alphas_cumprod', 'float32', [steps], options.alphasCumprod);
  const alpha = addAlphaLookup(graph, timestep, table, steps);
  const tile = ditherTile(options.dither);
  // The clean-up drops small islands (where P is small) and fills small holes (where it is large),
  // so the table asks the tile for the P whose cleaned share is the prior's.
  const shares = cleanedShares(tile, options.dither.size, options.cleanBlur);
  const remap = (p: number) => inverseShare(shares, p);
  const epsilon = addSwitchPriorDenoiser(
    graph,
    { sample, reference, source, alpha },
    {
      ...options,
      releaseTable: {
        values: releaseProbitTable(options.alphasCumprod, options.designStrength, remap),
        logSigmaFrom: LOG_SIGMA_FROM,
        logSigmaStep: LOG_SIGMA_STEP,
      },
      dither: { values: tile, size: options.dither.size },
    },
  );
  graph.op('Identity', [epsilon], {}, { outputs: ['out_sample'] });
  graph.output('out_sample', 'float32', latentShape);
  return graph.build();
}
