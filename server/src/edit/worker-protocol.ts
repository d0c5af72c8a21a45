import type { EditSettings, ModelSummary } from '@pixels/shared';
import type { Device, DeviceSpec } from '../models/devices.ts';
import type { DeviceReport } from '../models/model-registry.ts';
import type { EditFailure } from './edit-failure.ts';
import type { PipelineLimits } from './edit-pipeline.ts';
import type { EditInputs, EditOutcome, EditProgress, EditStart } from './edit-runner.ts';

/**
 * Kills the worker thread mid-job, for the supervision tests: at step `atStep` of a job on one of
 * the first `threads` threads (0 = every thread), it exits the thread or fills its heap until V8
 * runs out of memory. Never set in production.
 */
export interface FaultInjection {
  kind: 'exit' | 'out_of_memory';
  atStep: number;
  threads: number;
}

/** What the edit worker is started with. */
export interface WorkerConfig {
  modelsDir: string;
  /** onnxruntime execution providers in order, e.g. ['cpu']. */
  providers: string[];
  /** auto | cpu | cuda | cuda:N | webgpu: when set, replaces `providers` with what it resolves to. */
  device?: Device | DeviceSpec;
  /** The flag the device came from, named in errors: `--device` (pixels edit) or `--devices` (pixels serve). */
  deviceFlag?: string;
  intraOpThreads: number;
  maxResidentModels: number;
  limits: PipelineLimits;
  /** Nice levels the thread lowers itself by before it loads anything (EditRunnerOptions.niceLevels). */
  niceLevels: number;
  /** 0 for the first thread of a runner, 1 for its first replacement, and so on. */
  generation: number;
  faultInjection?: FaultInjection;
}

export type ToWorker =
  | { type: 'run'; jobId: number; settings: EditSettings; inputs: EditInputs }
  | { type: 'cancel'; jobId: number }
  | { type: 'models'; requestId: number }
  | { type: 'probe'; requestId: number };

export type FromWorker =
  | { type: 'start'; jobId: number; start: EditStart }
  | { type: 'progress'; jobId: number; progress: EditProgress }
  | { type: 'done'; jobId: number; outcome: EditOutcome }
  | { type: 'failed'; jobId: number; failure: EditFailure }
  | { type: 'models'; requestId: number; models?: ModelSummary[]; error?: string }
  | { type: 'probe'; requestId: number; device?: DeviceReport; failure?: EditFailure };
