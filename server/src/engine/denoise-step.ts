import type { EditPlan } from './edit-plan.ts';
import { applyGuidance } from './latent-ops.ts';
import type { Conditioning, DiffusionModel } from './model.ts';
import type { NoiseSource, Scheduler, SchedulerStepOutput } from './scheduler.ts';
import type { Tensor } from './tensor.ts';

/** What one model evaluation needs besides the latent; fixed for a whole pass. */
export interface DenoiseContext extends Pick<EditPlan, 'guidance' | 'branches'> {
  model: DiffusionModel;
  scheduler: Scheduler;
  conditioning: Conditioning;
  /** The clean surgical composite, for models that condition on it. */
  reference: Tensor;
  /** The clean source latent, for models that condition on it too. */
  source?: Tensor;
  noise: NoiseSource;
}

/** The usual diffusion step at schedule index `index`: model prediction, guidance, scheduler step. */
export async function denoiseStep(
  context: DenoiseContext,
  latent: Tensor,
  index: number,
): Promise<SchedulerStepOutput> {
  const { model, scheduler, conditioning, guidance } = context;
  // The plan asks for both branches; an adapter without a negative branch still gives one.
  const guided = context.branches === 'both' && conditioning.hasUnconditional;
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
