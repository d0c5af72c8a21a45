import { z } from 'zod';

/** Stable error codes: clients switch on these, people read the message. */
export const ERROR_CODES = [
  'bad_request',
  'invalid_settings',
  'missing_part',
  'invalid_image',
  'image_too_large',
  'map_mismatch',
  'unknown_model',
  'model_error',
  'too_many_exemplars',
  'payload_too_large',
  'unauthorized',
  'forbidden',
  'not_found',
  /** The job exists but has no result yet (queued or running), or never will (failed). */
  'not_done',
  'not_ready',
  /** A worker's device (a GPU) cannot run the model: a server fault, not the request's. */
  'device_unavailable',
  'queue_full',
  'canceled',
  /** The worker thread running the job died (twice: a first death is retried). */
  'worker_lost',
  /** The worker ran out of memory on this job: use smaller images or fewer exemplars. */
  'out_of_memory',
  'internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** The one error shape every endpoint answers with. */
export const ErrorBody = z.object({
  error: z.object({
    code: z.enum(ERROR_CODES),
    message: z.string(),
    /** Where the problem is, for example `settings.strength` or `exemplar[1]`. */
    field: z.string().optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

/** An error with a stable code and a message that says what to change. */
export class PixelsError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
    /** `cause`: the detail behind the message, for the server log only (never sent to clients). */
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PixelsError';
  }

  toBody(): ErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.field ? { field: this.field } : {}) } };
  }
}
