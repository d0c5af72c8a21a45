import { applyGuidance } from './latent-ops.ts';
import type { Conditioning, DiffusionModel } from './model.ts';
import type { NoiseSource, Scheduler } from './scheduler.ts';
import type { Tensor } from './tensor.ts';

/** What one model evaluation needs besides the latent; fixed for a whole pass. */
export interface DenoiseContext {
  model: DiffusionModel;
  scheduler: Scheduler;
  conditioning: Conditioning;
  guidance: number;
  /** The clean surgical composite, for models that condition on it. */
  reference: Tensor;
  /** The clean source latent, for models that condition on it too. */
  source?: Tensor;
  noise: NoiseSource;
}

/** Whether this model and scale call for two branches mixed by classifier-free guidance. */
export function usesClassifierFreeGuidance(model: DiffusionModel, guidance: number): boolean {
  return model.info.guidanceMode === 'classifier-free' && guidance > 1;
}

/** The usual diffusion step at schedule index `index`: model prediction, guidance, scheduler step. */
export async function denoiseStep(context: DenoiseContext, latent: Tensor, index: number): Promise<Tensor> {
  const { model, scheduler, conditioning, guidance } = context;
  const guided = usesClassifierFreeGuidance(model, guidance) && conditioning.hasUnconditional;
  const output = await model.predict({
    sample: scheduler.scaleModelInput(latent, index),
    timestep: scheduler.timesteps[index],
    conditioning,
    guidance,
    reference: context.reference,
    source: context.source,
    branches: guided ? 'both' : 'conditional',
  });
  const prediction =
    guided && output.unconditional
      ? applyGuidance(output.conditional, output.unconditional, guidance)
      : output.conditional;
  return scheduler.step(prediction, index, latent, context.noise);
}
