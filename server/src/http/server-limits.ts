import { DEFAULT_LIMITS } from '@pixels/shared';
import type { QueueLimits } from '../jobs/job-queue.ts';

/**
 * Everything a request may not exceed and everything the server holds at most. The request
 * limits may be set lower than the wire schema's caps, never higher.
 */
export interface ServerLimits extends QueueLimits {
  /** Bytes of one multipart request. */
  maxBodyBytes: number;
  /** Bytes of the headers of one multipart part. */
  maxPartHeaderBytes: number;
  /** Bytes of the settings part. */
  maxSettingsBytes: number;
  /** Pixels per input image, checked from its header before decoding. */
  maxPixels: number;
  maxExemplars: number;
  maxSteps: number;
  /** Characters of the prompt and of the negative prompt, each. */
  maxPromptLength: number;
  /** Longest side over shortest side of a source or exemplar (the model's attention cannot serve beyond). */
  maxAspectRatio: number;
  /** Shortest side in pixels of the working size the model runs at. */
  minWorkingSide: number;
  /** V8 heap of one edit worker thread in MiB (image tensors live outside it); over it the thread dies out of memory. */
  maxWorkerHeapMb: number;
}

const MIB = 1024 * 1024;

/** The one place every server limit gets its default; sized for a 24 GiB machine with one or two workers. */
export const DEFAULT_SERVER_LIMITS: Readonly<ServerLimits> = Object.freeze({
  ...DEFAULT_LIMITS,
  maxPartHeaderBytes: 8 * 1024,
  maxSettingsBytes: 64 * 1024,
  maxQueued: 100,
  maxQueuedPerUser: 10,
  maxQueuedInputBytes: 2048 * MIB,
  maxQueuedInputBytesPerUser: 512 * MIB,
  maxResultBytes: 8192 * MIB,
  maxResultBytesPerUser: 2048 * MIB,
  maxAspectRatio: 16,
  minWorkingSide: 8,
  maxWorkerHeapMb: 4096,
});
