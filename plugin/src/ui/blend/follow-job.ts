import type { JobEvent } from '@pixels/shared';
import { ApiError, isAbort } from '../api/api-error.ts';
import type { PixelsClient } from '../api/pixels-client.ts';

export type TerminalEvent = Extract<JobEvent, { type: 'done' | 'failed' | 'canceled' }>;

export interface FollowOptions {
  signal: AbortSignal;
  /** The size the result will have (the source's working size), for a `done` read from the job. */
  expectedSize: { width: number; height: number };
  /** Consecutive network failures tolerated before giving up. Default 5. */
  maxRetries?: number;
  /** Pause before reconnecting, in ms. Default 1000. */
  retryDelayMs?: number;
}

function isTerminal(event: JobEvent): event is TerminalEvent {
  return event.type === 'done' || event.type === 'failed' || event.type === 'canceled';
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new ApiError('aborted', 'The request was stopped.'));
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(new ApiError('aborted', 'The request was stopped.'));
      },
      { once: true },
    );
  });
}

/**
 * Follows a job's events until it is done, failed or canceled. A dropped stream is resumed from
 * the last event id; when a stream ends early the job's state decides (a job that finished while
 * nobody listened still ends here).
 */
export async function followJob(
  client: PixelsClient,
  jobId: string,
  onEvent: (event: JobEvent) => void,
  options: FollowOptions,
): Promise<TerminalEvent> {
  const eventsUrl = `/v1/jobs/${encodeURIComponent(jobId)}/events`;
  const maxRetries = options.maxRetries ?? 5;
  let lastEventId: string | undefined;
  let failures = 0;
  for (;;) {
    let terminal: TerminalEvent | undefined;
    try {
      await client.streamEvents(
        eventsUrl,
        ({ event, id }) => {
          if (id) lastEventId = id;
          failures = 0;
          onEvent(event);
          if (!isTerminal(event)) return undefined;
          terminal = event;
          return 'stop';
        },
        { signal: options.signal, ...(lastEventId ? { lastEventId } : {}) },
      );
    } catch (error) {
      if (options.signal.aborted || isAbort(error)) throw error;
      if (!(error instanceof ApiError) || error.code !== 'network') throw error;
      failures += 1;
      if (failures > maxRetries) throw error;
    }
    if (terminal) return terminal;
    const job = await client.job(jobId, options.signal);
    if (job.state === 'done') {
      return {
        type: 'done',
        resultUrl: job.resultUrl ?? `/v1/jobs/${encodeURIComponent(jobId)}/result`,
        ...options.expectedSize,
      };
    }
    if (job.state === 'failed') {
      return {
        type: 'failed',
        error: job.error ?? { code: 'internal', message: 'The job failed without saying why.' },
        reason: job.reason ?? 'server_fault',
      };
    }
    if (job.state === 'canceled') return { type: 'canceled', reason: job.reason ?? 'owner' };
    await sleep(options.retryDelayMs ?? 1000, options.signal);
  }
}
