import { PixelsError } from '@pixels/shared';
import type { MiddlewareHandler } from 'hono';
import type { Caller, TokenRegistry } from './tokens.ts';

/** Hono context variables set by the middleware of this app. */
export interface AppEnv {
  Variables: { caller: Caller };
}

/** Everyone is this caller on a server without tokens (loopback, or --insecure). */
export const OPEN_CALLER: Readonly<Caller> = Object.freeze({ name: 'local', role: 'user' });

/**
 * Bearer-token authentication: sets `caller` or refuses with 401. Without configured tokens every
 * request is the open caller. Tokens go in the Authorization header only, never in URLs (which
 * end up in logs and browser history).
 */
export function bearerAuth(registry: TokenRegistry): MiddlewareHandler<AppEnv> {
  return async function authenticate(c, next) {
    if (registry.isOpen) {
      c.set('caller', OPEN_CALLER);
      return next();
    }
    const header = c.req.header('Authorization');
    if (!header) {
      throw new PixelsError(
        'unauthorized',
        'This server needs a token: send the header "Authorization: Bearer <token>" (ask the server admin for a token).',
      );
    }
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
    if (!match) {
      throw new PixelsError('unauthorized', 'The Authorization header must read "Bearer <token>".');
    }
    const caller = registry.identify(match[1]);
    if (!caller) {
      throw new PixelsError(
        'unauthorized',
        'The token is not known to this server; check it or ask the admin for one.',
      );
    }
    c.set('caller', caller);
    return next();
  };
}

/** Whether `caller` may read or cancel a job owned by `owner`. */
export function mayAccess(caller: Caller, owner: string): boolean {
  return caller.role === 'admin' || caller.name === owner;
}
