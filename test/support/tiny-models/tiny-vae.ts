import { attribute } from '@pixels/server/onnx/writer/index.ts';
import { type FloatType, floatInput, floatOutput, GraphBuilder } from './graph-helpers.ts';

export interface TinyVaeOptions {
  /** Pixels per latent cell along a side (SD: 8). */
  scaleFactor: number;
  /** The `scaling_factor` of the VAE config: the encoder's weights divide by it, so scaled latents equal block means. */
  scalingFactor: number;
  /** `latent_parameters` (mean ‖ log-variance, Optimum ≥ 1.23) or `latent_sample` (older exports). */
  encoderOutput: 'latent_parameters' | 'latent_sample';
  floatType: FloatType;
}

/** Latent channels of every SD-family VAE. */
export const LATENT_CHANNELS = 4;
/** The log-variance the tiny encoder reports: tiny, as a trained VAE's nearly deterministic posterior. */
export const TINY_LOG_VARIANCE = -12;

/**
 * An analytic VAE encoder: the mean of each scaleFactor² block of RGB, mapped to 4 channels
 * (R, G, B and their average), divided by the scaling factor. After the loader multiplies by the
 * factor from the config, latent = block means exactly, so tests can pin the VAE glue.
 */
export function buildTinyVaeEncoder(options: TinyVaeOptions) {
  const graph = new GraphBuilder('vae_encoder');
  const { scaleFactor: factor, scalingFactor } = options;
  const sample = floatInput(graph, 'sample', options.floatType, ['batch', 3, 'height', 'width']);
  const blocks = graph.op('AveragePool', [sample], {
    kernel_shape: attribute.ints([factor, factor]),
    strides: attribute.ints([factor, factor]),
  });
  const mix = new Float32Array(LATENT_CHANNELS * 3);
  for (let channel = 0; channel < 3; channel++) {
    mix[channel * 3 + channel] = 1 / scalingFactor;
    mix[3 * 3 + channel] = 1 / (3 * scalingFactor);
  }
  const mean = graph.op('Conv', [blocks, graph.initializer('mix', 'float32', [LATENT_CHANNELS, 3, 1, 1], mix)]);
  const latentShape = ['batch', LATENT_CHANNELS, 'latent_height', 'latent_width'];
  if (options.encoderOutput === 'latent_sample') {
    floatOutput(graph, mean, 'latent_sample', options.floatType, latentShape);
  } else {
    const logVariance = graph.op('Add', [graph.op('Mul', [mean, graph.scalar(0)]), graph.scalar(TINY_LOG_VARIANCE)]);
    const parameters = graph.op('Concat', [mean, logVariance], { axis: attribute.int(1) });
    floatOutput(graph, parameters, 'latent_parameters', options.floatType, [
      'batch',
      2 * LATENT_CHANNELS,
      'latent_height',
      'latent_width',
    ]);
  }
  return graph.build();
}

/**
 * The analytic decoder matching `buildTinyVaeEncoder`: channels 0..2 times the scaling factor,
 * repeated over each block (nearest-neighbour upsampling), so decode(encode(x)) = block means of x.
 */
export function buildTinyVaeDecoder(options: Omit<TinyVaeOptions, 'encoderOutput'>) {
  const graph = new GraphBuilder('vae_decoder');
  const { scaleFactor: factor, scalingFactor } = options;
  const latent = floatInput(graph, 'latent_sample', options.floatType, [
    'batch',
    LATENT_CHANNELS,
    'latent_height',
    'latent_width',
  ]);
  const unmix = new Float32Array(3 * LATENT_CHANNELS);
  for (let channel = 0; channel < 3; channel++) unmix[channel * LATENT_CHANNELS + channel] = scalingFactor;
  const rgb = graph.op('Conv', [latent, graph.initializer('unmix', 'float32', [3, LATENT_CHANNELS, 1, 1], unmix)]);
  const scales = graph.initializer('upsample_scales', 'float32', [4], [1, 1, factor, factor]);
  const upsampled = graph.op('Resize', [rgb, '', scales], { mode: attribute.string('nearest') });
  floatOutput(graph, upsampled, 'sample', options.floatType, ['batch', 3, 'height', 'width']);
  return graph.build();
}
