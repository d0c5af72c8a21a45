import type { EditSettings, ModelSummary } from '@pixels/shared';
import type { DeviceReport } from '../models/model-registry.ts';

export type { DeviceReport };

import type { ImageHeader } from '../images/probe.ts';
import type { Rect } from '../images/raw-rect.ts';

/** The probed header of each input image, in the order of EditInputs. */
export interface InputHeaders {
  source: ImageHeader;
  exemplars: readonly ImageHeader[];
  map?: ImageHeader;
}

/** The encoded image files of one edit request (PNG, JPEG or WebP bytes), exemplars in z-order. */
export interface EditInputs {
  source: Uint8Array;
  exemplars: readonly Uint8Array[];
  map?: Uint8Array;
  /** The headers as the HTTP layer probed them, passed on so the pipeline does not probe twice. */
  headers?: InputHeaders;
}

export interface EditStart {
  /** The seed actually used (drawn at random when the settings had none). */
  seed: number;
  /** Denoising steps over all passes. */
  totalSteps: number;
  /** Working size the model runs at. */
  width: number;
  height: number;
  /** The part of the source the model processes (region plus context; the whole frame for region 'full'). */
  crop: Rect;
  /** Things the user should know about this run, one sentence each. */
  warnings: string[];
  /**
   * What the engine did that the request did not spell out, and why, one sentence each: an
   * exemplar rescaled into the source frame, a prompt the model ignores, a working size other
   * than the source's.
   */
  notes: string[];
}

export interface EditProgress {
  /** 1-based step over all passes. */
  step: number;
  totalSteps: number;
  elapsedMs: number;
  /** A small JPEG of the current estimate, when `settings.previews` is on. */
  preview?: Uint8Array;
}

export interface EditOutcome {
  /** The result at the source's size, as PNG with every setting embedded in a text chunk. */
  png: Uint8Array;
  width: number;
  height: number;
  seed: number;
  /** Time spent inside the engine (decode inputs → encode PNG), for overhead measurements. */
  engineMs: number;
}

export interface RunOptions {
  onStart?: (start: EditStart) => void;
  onProgress?: (progress: EditProgress) => void;
  /** Honoured between steps; the run then rejects with PixelsError('canceled'). */
  signal?: AbortSignal;
}

/**
 * Runs whole edits (image decoding, the PIXELS loop, PNG encoding) off the main thread. One runner
 * owns one worker thread and one device and runs one job at a time (the job queue hands them out).
 * A failure rejects with EditFailed (its `failure` says the code, the client's message and the reason).
 */
export interface EditRunner {
  /** False while the runner has no live worker thread (starting, or restarting after a death). */
  readonly isAlive: boolean;
  run(settings: EditSettings, inputs: EditInputs, options?: RunOptions): Promise<EditOutcome>;
  listModels(): Promise<ModelSummary[]>;
  /**
   * Starts this runner's device, opens the built-in model's sessions on it and runs them once;
   * rejects with a PixelsError (`device_unavailable` naming the device) when the device cannot run.
   */
  probe(): Promise<DeviceReport>;
  close(): Promise<void>;
}
