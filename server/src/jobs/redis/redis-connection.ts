import { PixelsError } from '@pixels/shared';
import type { ConnectionOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';

/** `redis://[user:password@]host:port[/db]` or `rediss://…` (TLS), as `--redis` takes it. */
export function redisOptionsFromUrl(url: string): RedisOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new PixelsError('bad_request', `--redis must be a URL like redis://127.0.0.1:6379, not '${url}'.`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new PixelsError('bad_request', `--redis must start with redis:// or rediss://, not '${parsed.protocol}'.`);
  }
  const db = parsed.pathname.replace(/^\//, '');
  return {
    host: parsed.hostname.replace(/^\[|\]$/g, ''),
    port: parsed.port ? Number(parsed.port) : 6379,
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(db ? { db: Number(db) } : {}),
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/**
 * Retry a lost connection every 0.2–2 s, forever: a Redis restart or a dropped link is waited
 * out, and commands sent meanwhile wait in ioredis' offline queue.
 */
function reconnectDelay(times: number): number {
  return Math.min(2000, 200 * times);
}

/**
 * A connection of the API node: a command that gets no answer within `commandTimeoutMs` fails
 * (and becomes a 503 for the client) instead of holding the request.
 */
export function connectForRequests(url: string, commandTimeoutMs = 5000): Redis {
  return new Redis({
    ...redisOptionsFromUrl(url),
    retryStrategy: reconnectDelay,
    maxRetriesPerRequest: 2,
    commandTimeout: commandTimeoutMs,
    connectionName: 'pixels-api',
  });
}

/** A connection whose commands wait out an outage (workers, subscribers, BullMQ's own). */
export function connectPatiently(url: string, name: string): Redis {
  return new Redis({
    ...redisOptionsFromUrl(url),
    retryStrategy: reconnectDelay,
    maxRetriesPerRequest: null,
    connectionName: name,
  });
}

/** BullMQ's connection options (it makes its own connections from them). */
export function bullConnection(url: string): ConnectionOptions {
  const { tls, ...options } = redisOptionsFromUrl(url);
  return { ...options, ...(tls ? { tls } : {}), retryStrategy: reconnectDelay, maxRetriesPerRequest: null };
}
