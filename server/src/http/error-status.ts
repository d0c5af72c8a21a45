import type { ErrorCode } from '@pixels/shared';
import type { ClientErrorStatusCode, ServerErrorStatusCode } from 'hono/utils/http-status';

/** The HTTP status of every error code: 4xx for what the client can fix, 5xx only for server faults. */
export const STATUS_BY_CODE: Readonly<Record<ErrorCode, ClientErrorStatusCode | ServerErrorStatusCode>> = Object.freeze(
  {
    bad_request: 400,
    invalid_settings: 400,
    missing_part: 400,
    invalid_image: 400,
    image_too_large: 413,
    map_mismatch: 400,
    unknown_model: 400,
    too_many_exemplars: 400,
    payload_too_large: 413,
    unauthorized: 401,
    forbidden: 403,
    not_found: 404,
    not_done: 409,
    canceled: 409,
    queue_full: 429,
    not_ready: 503,
    device_unavailable: 503,
    worker_lost: 503,
    out_of_memory: 507,
    model_error: 500,
    internal: 500,
  },
);
