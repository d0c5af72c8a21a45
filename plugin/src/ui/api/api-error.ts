import type { ErrorCode } from '@pixels/shared';

/** Server error codes plus the failures that happen before the server can answer. */
export type ApiErrorCode = ErrorCode | 'network' | 'protocol' | 'aborted';

const ADVICE: Record<ApiErrorCode, string> = {
  bad_request:
    'The plugin sent something the server did not understand. Update the plugin and the server to matching versions.',
  invalid_settings: 'Change the setting named in the message and blend again.',
  missing_part: 'The plugin sent an incomplete request. Update the plugin and the server to matching versions.',
  invalid_image:
    'An exported layer could not be read by the server. Try again; if it repeats, simplify or flatten that layer.',
  image_too_large: 'Lower "Working size" in Settings and blend again.',
  map_mismatch: 'The edit map does not fit the source. Remove the map layer or resize it to cover the source exactly.',
  unknown_model: 'Click Connect to refresh the model list and pick a model the server has.',
  model_error:
    "The model failed on the server. Try again or pick another model; tell the server's admin if it repeats.",
  too_many_exemplars: 'Set some exemplars to Ignore in the layer list.',
  payload_too_large: 'Lower "Working size" in Settings, or use fewer exemplars, and blend again.',
  unauthorized: 'Check the access token under Server (ask whoever runs the server for one).',
  forbidden: 'Your token is not allowed to do this. Ask whoever runs the server.',
  not_found: 'The server no longer knows this job (it may have restarted). Blend again.',
  not_done: 'The job has not finished yet. Wait for it, or cancel it.',
  not_ready: 'The server is still starting. Wait a moment and try again.',
  device_unavailable:
    "The server's GPU cannot run edits right now. Try again later; tell the server's admin if it repeats.",
  queue_full: "The server's queue is full. Try again in a minute.",
  canceled: 'The job was canceled.',
  worker_lost: 'The server lost its worker while blending (it restarts it). Blend again.',
  out_of_memory:
    'The server ran out of memory on this blend. Lower "Working size" in Settings, or use fewer exemplars.',
  internal: "The server hit an unexpected error. Try again; tell the server's admin if it repeats.",
  network:
    'Check that the server is running and the URL under Server is right. A server on another machine must use https (Figma only allows plain http to localhost) and allow requests from the plugin (CORS).',
  protocol:
    'The address answers, but not like a PIXELS server of this version. Check the URL, and update the plugin or the server.',
  aborted: 'The request was stopped.',
};

/** The server could not build a map: the exemplars cover the whole source without transparency. */
const MISSING_MAP_ADVICE =
  'Add an edit map layer (white = change, named "map"), or use exemplars with transparency where the source should stay.';

/** A failed call to the server: a stable code, the server's message and what to do about it. */
export class ApiError extends Error {
  override name = 'ApiError';
  readonly advice: string;

  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly status?: number,
    readonly field?: string,
  ) {
    super(message);
    this.advice = code === 'missing_part' && field === 'map' ? MISSING_MAP_ADVICE : (ADVICE[code] ?? ADVICE.internal);
  }
}

/** Whether an error is the result of our own abort (cancel or closing), not a failure to report. */
export function isAbort(error: unknown): boolean {
  return (
    (error instanceof ApiError && error.code === 'aborted') ||
    (error instanceof DOMException && error.name === 'AbortError')
  );
}
