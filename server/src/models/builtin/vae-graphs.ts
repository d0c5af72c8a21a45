import { attribute, GraphBuilder, type GraphValue } from '../../onnx/writer/index.ts';

/** The built-in VAE's lossless latent space: pixels rearranged into blocks, nothing learned. */
export interface VaeGraphOptions {
  /** Pixels per latent cell along each side (1 = pixel space). */
  scaleFactor: number;
}

/** Latent channels of a space-to-depth VAE: RGB times the cells of one block. */
export function latentChannels(options: VaeGraphOptions): number {
  return 3 * options.scaleFactor * options.scaleFactor;
}

/** The encoder's log-variance: a point mass, so sampling from the posterior equals its mean. */
const LOG_VARIANCE = -30;

/**
 * `sample` [B,3,H,W] in [−1,1] → `latent_parameters` [B,2C,H/f,W/f] = mean ‖ log-variance,
 * the layout of Optimum ≥ 1.23 exports. The mean is unscaled, as diffusers' VAE returns it.
 */
export function buildVaeEncoderGraph(options: VaeGraphOptions): GraphValue {
  const graph = new GraphBuilder('pixels_builtin_vae_encoder');
  const { scaleFactor } = options;
  const channels = latentChannels(options);
  const image = graph.input('sample', 'float32', ['batch', 3, 'height', 'width']);
  const mean = scaleFactor === 1 ? image : graph.op('SpaceToDepth', [image], { blocksize: attribute.int(scaleFactor) });
  const logVariance = graph.op('Add', [graph.op('Mul', [mean, graph.scalar(0)]), graph.scalar(LOG_VARIANCE)]);
  graph.op('Concat', [mean, logVariance], { axis: attribute.int(1) }, { outputs: ['latent_parameters'] });
  graph.output('latent_parameters', 'float32', ['batch', 2 * channels, 'latent_height', 'latent_width']);
  return graph.build();
}

/** `latent_sample` [B,C,h,w] (unscaled) → `sample` [B,3,h·f,w·f]; the exact inverse of the encoder's mean. */
export function buildVaeDecoderGraph(options: VaeGraphOptions): GraphValue {
  const graph = new GraphBuilder('pixels_builtin_vae_decoder');
  const { scaleFactor } = options;
  const latent = graph.input('latent_sample', 'float32', [
    'batch',
    latentChannels(options),
    'latent_height',
    'latent_width',
  ]);
  // DCR is the channel order SpaceToDepth produces, so this is its exact inverse.
  const attributes = { blocksize: attribute.int(scaleFactor), mode: attribute.string('DCR') };
  graph.op(scaleFactor === 1 ? 'Identity' : 'DepthToSpace', [latent], scaleFactor === 1 ? {} : attributes, {
    outputs: ['sample'],
  });
  graph.output('sample', 'float32', ['batch', 3, 'height', 'width']);
  return graph.build();
}
