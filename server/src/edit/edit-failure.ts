import { type EndReason, type ErrorCode, PixelsError } from '@pixels/shared';

/**
 * The one form an edit's failure takes, from the worker thread to the job and its `failed` event:
 * plain data (it crosses postMessage as it is; no error class is rebuilt on the way). `message`
 * is for the client and names the problem and the fix; `detail` (causes, stacks, file paths,
 * library text) goes only to the server log, under the job id.
 */
export interface EditFailure {
  code: ErrorCode;
  message: string;
  field?: string;
  reason: EndReason;
  detail?: string;
}

/** A run's rejection: carries the failure as it came, for the queue to record. */
export class EditFailed extends Error {
  constructor(readonly failure: EditFailure) {
    super(failure.message);
    this.name = 'EditFailed';
  }
}

/** Codes that mean the server, not the request, is at fault. */
const SERVER_FAULT_CODES: ReadonlySet<ErrorCode> = new Set(['internal', 'model_error', 'device_unavailable']);

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause === undefined ? '' : `\ncaused by: ${describe(error.cause)}`;
    return `${error.stack ?? `${error.name}: ${error.message}`}${cause}`;
  }
  return String(error);
}

/**
 * Any error as an EditFailure. The request's own faults keep their code and message (our
 * messages, written for the client); a model or server fault gets a message without internals,
 * and its own text (paths, onnxruntime node names) becomes the detail.
 */
export function toEditFailure(error: unknown): EditFailure {
  if (error instanceof EditFailed) return error.failure;
  if (error instanceof PixelsError && !SERVER_FAULT_CODES.has(error.code)) {
    return {
      code: error.code,
      message: error.message,
      ...(error.field ? { field: error.field } : {}),
      reason: error.code === 'canceled' ? 'owner' : 'bad_input',
      ...(error.cause === undefined ? {} : { detail: describe(error.cause) }),
    };
  }
  if (error instanceof PixelsError && error.code === 'device_unavailable') {
    // The device's own words (library paths, onnxruntime text) are for the admin's log only.
    return {
      code: error.code,
      message:
        "The server's GPU device failed, so the edit did not run; retry in a while, and tell the server's admin if it happens again (the details are in the server log under this job id).",
      reason: 'server_fault',
      detail: error.message,
    };
  }
  if (error instanceof PixelsError) {
    return {
      code: error.code,
      message:
        'The model failed on this edit (a broken or unsupported model file, or a runtime fault); the details are in the server log under this job id. Tell the server admin; retrying will not help until the model is fixed.',
      reason: 'server_fault',
      detail: describe(error),
    };
  }
  return {
    code: 'internal',
    message:
      "The server failed while running this edit; the details are in the server log under this job id. Retry, and tell the server's admin if it happens again.",
    reason: 'server_fault',
    detail: describe(error),
  };
}
