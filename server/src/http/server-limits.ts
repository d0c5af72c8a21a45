import { DEFAULT_LIMITS } from '@pixels/shared';
import { DEFAULT_QUEUE_LIMITS, type QueueLimits } from '../jobs/job-queue.ts';

/** Everything a request may not exceed; the request limits may be set lower than the wire schema's caps, never higher. */
export interface ServerLimits extends QueueLimits {
  /** Bytes of one multipart request. */
  maxBodyBytes: number;
  /** Pixels per input image, checked from its header before decoding. */
  maxPixels: number;
  maxExemplars: number;
  maxSteps: number;
  /** Characters of the prompt and of the negative prompt, each. */
  maxPromptLength: number;
}

export const DEFAULT_SERVER_LIMITS: Readonly<ServerLimits> = Object.freeze({
  ...DEFAULT_LIMITS,
  ...DEFAULT_QUEUE_LIMITS,
});
