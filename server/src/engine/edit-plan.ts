import type { EditSettings, ExemplarMode } from '@pixels/shared';
import type { ModelInfo } from './model.ts';
import { truncatedStart } from './schedulers/schedule-math.ts';

/** What of a request decides the step plan. */
export interface EditPlanRequest extends Pick<EditSettings, 'steps' | 'strength' | 'exemplarMode'> {
  /** The request's guidance scale; absent takes the model's default. */
  guidance?: number;
  exemplarCount: number;
}

/**
 * How an edit runs, worked out once before any work (as diffusers' img2img `get_timesteps`): the
 * loop, the `started` event and the warnings all read this.
 */
export interface EditPlan {
  mode: ExemplarMode;
  /** N, the schedule every pass's scheduler is set to. */
  scheduleSteps: number;
  /** Index of the first schedule step each pass runs (img2img truncation by strength). */
  startIndex: number;
  stepsPerPass: number;
  /** 'layered': one pass over the layer stack; 'iterative': one pass per exemplar. */
  passCount: number;
  /** Steps over all passes; 0 when strength is too low for any step to run. */
  totalSteps: number;
  /** The guidance scale used: the request's, else the model's default. */
  guidance: number;
  /** 'both': conditional and unconditional branches mixed by classifier-free guidance; else one branch. */
  branches: 'conditional' | 'both';
}

/** The step plan of a request on a model. */
export function planEdit(
  request: EditPlanRequest,
  model: Pick<ModelInfo, 'guidanceMode' | 'defaultGuidance'>,
): EditPlan {
  const startIndex = truncatedStart(request.steps, request.strength);
  const stepsPerPass = request.steps - startIndex;
  const passCount = request.exemplarMode === 'iterative' ? request.exemplarCount : 1;
  const guidance = request.guidance ?? model.defaultGuidance;
  return {
    mode: request.exemplarMode,
    scheduleSteps: request.steps,
    startIndex,
    stepsPerPass,
    passCount,
    totalSteps: stepsPerPass * passCount,
    guidance,
    branches: model.guidanceMode === 'classifier-free' && guidance > 1 ? 'both' : 'conditional',
  };
}
