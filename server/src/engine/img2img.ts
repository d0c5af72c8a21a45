import { type DenoiseContext, denoiseStep } from './denoise-step.ts';
import type { Tensor } from './tensor.ts';

/**
 * Plain img2img with the same step function as the PIXELS pass: noise the source once to the
 * first timestep run, then denoise. The baseline PIXELS is measured against.
 */
export async function runImg2ImgPass(
  context: DenoiseContext & { source: Tensor; startIndex: number },
): Promise<Tensor> {
  const { scheduler, source, startIndex } = context;
  let latent = scheduler.addNoise(source, context.noise(source.shape), startIndex);
  for (let index = startIndex; index < scheduler.timesteps.length; index++) {
    latent = (await denoiseStep(context, latent, index)).sample;
  }
  return latent;
}
