import type { MiddlewareHandler } from 'hono';
import type { Logger } from '../observability/logger.ts';
import type { AppEnv } from './auth.ts';

/** Probes hit these every few seconds; their lines would drown the interesting ones. */
const QUIET_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

/** One JSON line per request: method, path, status, duration, caller. */
export function requestLog(logger: Logger): MiddlewareHandler<AppEnv> {
  return async function logRequest(c, next) {
    const started = performance.now();
    await next();
    const fields = {
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      durationMs: Math.round((performance.now() - started) * 10) / 10,
      caller: c.get('caller')?.name,
    };
    if (QUIET_PATHS.has(c.req.path)) logger.debug('request', fields);
    else logger.info('request', fields);
  };
}
