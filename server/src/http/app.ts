import {
  type ModelSummary,
  PixelsError,
  type ServerStatus,
  type SubmitResponse,
  type WorkerList,
} from '@pixels/shared';
import { Hono } from 'hono';
import { cors } from 'hono/cors';
import type { WorkerReadiness } from '../edit/device-readiness.ts';
import { isJobIdShaped } from '../jobs/job-id.ts';
import { type JobQueue, WORKER_HEARTBEAT } from '../jobs/job-queue.ts';
import { eventsUrl, type JobRecord, jobUrl } from '../jobs/job-record.ts';
import type { ResultReader } from '../jobs/result-store.ts';
import type { JobMetrics } from '../observability/job-metrics.ts';
import type { Logger } from '../observability/logger.ts';
import { renderApiPage } from './api-page.ts';
import { type AppEnv, bearerAuth, mayAccess, OPEN_CALLER } from './auth.ts';
import { createErrorHandler, handleNotFound } from './handle-error.ts';
import { jobEventStream, readLastEventId } from './job-event-stream.ts';
import { renderMetricsText } from './metrics-text.ts';
import { buildOpenApiDocument } from './openapi.ts';
import { parseEditRequest } from './parse-edit-request.ts';
import { requestLog } from './request-log.ts';
import type { ServerLimits } from './server-limits.ts';
import type { Caller, TokenRegistry } from './tokens.ts';

export interface AppDependencies {
  queue: JobQueue;
  tokens: TokenRegistry;
  limits: ServerLimits;
  /** The installed models (the runner's, or those the live workers announce); asked per request that needs them. */
  listModels: () => Promise<ModelSummary[]>;
  logger: Logger;
  metrics: JobMetrics;
  /** Where the queue keeps finished results; downloads stream from it. */
  results: ResultReader;
  /** Keep-alive comment interval of event streams. Default 15 s. */
  heartbeatMs?: number;
  /** Event-loop stalls while jobs ran, for /metrics. */
  stalls?: {
    readonly maxStallMs: number;
    readonly maxBusyStallMs: number | undefined;
    /** Largest stalls while uploads were parsed and results streamed (no job needed). */
    readonly requestStallsMs?: { upload: number; download: number };
    readonly requestBusyStallsMs?: { upload: number; download: number };
    /** Counts a request of this kind in flight until the returned function is called. */
    track?: (kind: 'upload' | 'download') => () => void;
  };
  /** Whether each worker's model session can run (probed at start-up; a device failure clears it). Default: all ready. */
  workerReadiness?: () => readonly WorkerReadiness[];
}

/** The Hono app of the team server; every route answers errors in the shared ErrorBody shape. */
export function createApp(dependencies: AppDependencies) {
  const { queue, tokens, limits, logger, metrics } = dependencies;
  const startedAt = Date.now();
  const openApiDocument = buildOpenApiDocument(limits);
  const apiPage = renderApiPage(openApiDocument);
  const authenticate = bearerAuth(tokens);
  const listModels = dependencies.listModels;
  let openEventStreams = 0;
  const unreadyWorkers = () =>
    (dependencies.workerReadiness?.() ?? [])
      .map((worker, index) => ({ ...worker, number: index + 1 }))
      .filter((worker) => !worker.ready);
  const describeUnready = (workers: ReturnType<typeof unreadyWorkers>) =>
    workers.map((worker) => `worker ${worker.number} (${worker.device}): ${worker.reason}`).join('; ');

  const track = (kind: 'upload' | 'download') => dependencies.stalls?.track?.(kind) ?? (() => {});
  const status = async (state: ServerStatus['status']): Promise<ServerStatus> => {
    const stats = await queue.stats();
    return {
      status: state,
      workers: stats.workers,
      liveWorkers: stats.liveWorkers,
      queued: stats.queued,
      running: stats.running,
      uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
      limits: {
        maxSteps: limits.maxSteps,
        maxExemplars: limits.maxExemplars,
        maxPromptLength: limits.maxPromptLength,
        maxPixels: limits.maxPixels,
        maxBodyBytes: limits.maxBodyBytes,
      },
    };
  };

  return new Hono<AppEnv>()
    .onError(createErrorHandler(logger))
    .notFound(handleNotFound)
    .use(requestLog(logger))
    .use(
      cors({
        // Figma's plugin iframe has the origin `null`; '*' answers it, and no cookies are used.
        origin: '*',
        allowMethods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
        allowHeaders: ['Authorization', 'Content-Type', 'Last-Event-ID'],
        exposeHeaders: ['Location', 'Retry-After', 'Server-Timing', 'Content-Disposition'],
        maxAge: 600,
      }),
    )
    .use('/v1/*', authenticate)
    .use('/metrics', authenticate)
    .post('/v1/edits', async (c) => {
      const owner = c.get('caller').name;
      // Refuse what the queue would refuse before reading a byte of the body.
      await queue.checkAdmission(owner, 0);
      const models = await listModels();
      const done = track('upload');
      let request: Awaited<ReturnType<typeof parseEditRequest>>;
      try {
        request = await parseEditRequest(c.req.raw, limits, models);
      } finally {
        done();
      }
      // Not awaited when the queue answers at once: the in-process queue starts a job a microtask
      // later, and the 202 reports it as it was submitted (queued, with its position).
      const submitted = queue.submit(owner, request.settings, request.inputs);
      const job = submitted instanceof Promise ? await submitted : submitted;
      const body: SubmitResponse = {
        id: job.id,
        state: job.state,
        position: job.position ?? 1,
        eventsUrl: eventsUrl(job.id),
        jobUrl: jobUrl(job.id),
      };
      c.header('Location', body.jobUrl);
      return c.json(body, 202);
    })
    .get('/v1/jobs/:id', async (c) => c.json((await findJob(queue, c.req.param('id'), c.get('caller'))).toJob()))
    .delete('/v1/jobs/:id', async (c) => {
      const caller = c.get('caller');
      const job = await findJob(queue, c.req.param('id'), caller);
      const canceled = await queue.cancel(job.id, caller.name === job.owner ? 'owner' : 'admin');
      return c.json((canceled ?? job).toJob());
    })
    .get('/v1/jobs/:id/events', async (c) => {
      const job = await findJob(queue, c.req.param('id'), c.get('caller'));
      const lastEventId = readLastEventId(c.req.header('Last-Event-ID'), c.req.query('lastEventId'));
      openEventStreams++;
      return jobEventStream(job, lastEventId, {
        heartbeatMs: dependencies.heartbeatMs,
        onClose: () => openEventStreams--,
      });
    })
    .get('/v1/jobs/:id/result', async (c) => {
      const job = await findJob(queue, c.req.param('id'), c.get('caller'));
      const result = job.result;
      if (!result) throw noResult(job);
      const headers = {
        'Content-Length': String(result.bytes),
        'Content-Type': 'image/png',
        'Content-Disposition': `attachment; filename="pixels-${job.id}.png"`,
        'Cache-Control': 'private, no-store',
        'Server-Timing': `engine;dur=${result.engineMs.toFixed(1)}`,
      };
      // Hono answers HEAD with this route and drops the body unread: a download opened for it would never end.
      if (c.req.method === 'HEAD') return c.body(null, 200, headers);
      let body: ReadableStream<Uint8Array>;
      const done = track('download');
      try {
        // The file streams from disk to every client; nothing of it is copied into memory per download.
        body = await dependencies.results.openStream(result, (completed) => {
          if (completed) job.downloads++;
          done();
        });
      } catch {
        done();
        // Deleted (DELETE, or expiry) between the lookup and the open.
        throw new PixelsError('not_found', `Job ${job.id}'s result was just deleted; submit the edit again.`, 'id');
      }
      return c.body(body, 200, headers);
    })
    .get('/v1/models', async (c) => c.json({ models: await listModels() }))
    .get('/v1/workers', async (c) => {
      // An open server (no tokens) has no admin: everyone may look, as everyone may use it.
      if (c.get('caller').role !== 'admin' && c.get('caller') !== OPEN_CALLER) {
        throw new PixelsError('forbidden', 'GET /v1/workers is for admin tokens; ask the server admin.');
      }
      const body: WorkerList = { workers: await queue.workers(), ...WORKER_HEARTBEAT };
      return c.json(body);
    })
    .get('/healthz', async (c) => c.json(await status(queue.isDraining ? 'draining' : 'ok')))
    .get('/readyz', async (c) => {
      const problem = await readinessProblem(queue);
      if (problem) throw new PixelsError('not_ready', problem);
      const unready = unreadyWorkers();
      if (unready.length > 0) {
        throw new PixelsError(
          'device_unavailable',
          `Not ready: ${unready.length} of ${(await queue.stats()).workers} workers cannot run their model: ${describeUnready(unready)}`,
        );
      }
      return c.json(await status('ready'));
    })
    .get('/metrics', async (c) =>
      c.text(
        renderMetricsText(await queue.stats(), metrics, {
          workers: await queue.workers(),
          openEventStreams,
          maxStallMs: dependencies.stalls?.maxStallMs ?? 0,
          maxBusyStallMs: dependencies.stalls?.maxBusyStallMs,
          requestStallsMs: dependencies.stalls?.requestStallsMs,
          requestBusyStallsMs: dependencies.stalls?.requestBusyStallsMs,
        }),
        200,
        {
          'Content-Type': 'text/plain; version=0.0.4; charset=utf-8',
        },
      ),
    )
    .get('/openapi.json', (c) => c.json(openApiDocument))
    .get('/docs', (c) => c.html(apiPage))
    .get('/', (c) => c.redirect('/docs'));
}

export type PixelsApp = ReturnType<typeof createApp>;

/** Why the server cannot take jobs now, or undefined when it can (`/readyz`). */
async function readinessProblem(queue: JobQueue): Promise<string | undefined> {
  if (queue.isDraining) return 'The server is shutting down and takes no new jobs.';
  if ((await queue.stats()).liveWorkers === 0) {
    return 'No edit worker is running (the last one died and is being restarted); retry in a few seconds.';
  }
  return undefined;
}

/** The job `id` if `caller` may see it; 404 for unknown or expired ids, 403 for another user's job. */
async function findJob(queue: JobQueue, id: string, caller: Caller): Promise<JobRecord> {
  const job = isJobIdShaped(id) ? await queue.find(id) : undefined;
  if (!job) {
    throw new PixelsError(
      'not_found',
      `There is no job '${id.slice(0, 40)}': the id is wrong, or the job finished long enough ago that it was deleted with its result.`,
      'id',
    );
  }
  if (!mayAccess(caller, job.owner)) {
    throw new PixelsError(
      'forbidden',
      `Job ${id} belongs to another user; only the token that submitted it (or an admin token) can read or cancel it.`,
      'id',
    );
  }
  return job;
}

function noResult(job: JobRecord): PixelsError {
  switch (job.state) {
    case 'queued':
      return new PixelsError(
        'not_done',
        `Job ${job.id} is queued (position ${job.position}); fetch the result after its done event.`,
      );
    case 'running':
      return new PixelsError(
        'not_done',
        `Job ${job.id} is running (step ${job.progress?.step ?? 0} of ${job.progress?.totalSteps ?? '?'}); fetch the result after its done event.`,
      );
    case 'canceled':
      return new PixelsError('canceled', `Job ${job.id} was canceled, so it has no result; submit it again.`);
    default:
      // The server's device failed, not the request: answer 503 with the device's code, so clients retry.
      if (job.error?.code === 'device_unavailable')
        return new PixelsError('device_unavailable', `Job ${job.id} failed: ${job.error.message}`);
      return new PixelsError(
        'not_done',
        `Job ${job.id} failed (${job.error?.code}: ${job.error?.message}), so it has no result.`,
      );
  }
}
