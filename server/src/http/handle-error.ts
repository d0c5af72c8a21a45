import { PixelsError } from '@pixels/shared';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { QueueFullError } from '../jobs/job-queue.ts';
import type { Logger } from '../observability/logger.ts';
import { STATUS_BY_CODE } from './error-status.ts';

/**
 * Renders one PixelsError as the shared error shape with its status and helpful headers.
 * `refusedBody`: the request carried a body that is not read to its end; the answer then closes
 * the connection, so the server never drains an upload it refused (no token, over a limit).
 */
export function errorResponse(error: PixelsError, refusedBody = false): Response {
  const headers: Record<string, string> = { 'Content-Type': 'application/json; charset=utf-8' };
  if (error instanceof QueueFullError) headers['Retry-After'] = String(error.retryAfterSeconds);
  if (error.code === 'unauthorized') headers['WWW-Authenticate'] = 'Bearer realm="pixels"';
  if (refusedBody || error.code === 'payload_too_large') headers.Connection = 'close';
  return new Response(JSON.stringify(error.toBody()), { status: STATUS_BY_CODE[error.code], headers });
}

/** Whether a request says it carries a body (a length above 0, or chunked). */
function hasBody(request: Request): boolean {
  if (request.method === 'GET' || request.method === 'HEAD') return false;
  const length = request.headers.get('content-length');
  return (length !== null && length !== '0') || request.headers.has('transfer-encoding');
}

/**
 * The app's one `onError`: PixelsErrors are the client's to fix and keep their code; anything
 * else is a server fault, logged with its stack and answered 500 without internals.
 */
export function createErrorHandler(logger: Logger) {
  return function handleError(error: Error, c: Context): Response {
    const refusedBody = hasBody(c.req.raw);
    if (error instanceof PixelsError) {
      if (error.cause !== undefined) {
        logger.info('request refused', {
          method: c.req.method,
          path: c.req.path,
          code: error.code,
          detail: error.cause,
        });
      }
      return errorResponse(error, refusedBody);
    }
    if (error instanceof HTTPException && error.status < 500) {
      // Hono's own refusals (for example a malformed request line); keep the status, use our shape.
      const response = errorResponse(
        new PixelsError('bad_request', 'The request could not be read; check its request line and headers.'),
        refusedBody,
      );
      return new Response(response.body, { status: error.status, headers: response.headers });
    }
    logger.error('request failed', { method: c.req.method, path: c.req.path, error });
    return errorResponse(
      new PixelsError(
        'internal',
        'The server failed on this request; the error is in its log. Retry, and tell the server admin if it happens again.',
      ),
      refusedBody,
    );
  };
}

/** Unknown routes get the shared error shape too, pointing at the API description. */
export function handleNotFound(c: Context): Response {
  return errorResponse(
    new PixelsError(
      'not_found',
      `There is no ${c.req.method} ${c.req.path.slice(0, 200)}; the endpoints are listed at /openapi.json and /docs.`,
    ),
    hasBody(c.req.raw),
  );
}
