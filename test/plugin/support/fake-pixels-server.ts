/**
 * A small HTTP server that speaks the PIXELS protocol for the panel's tests:
 * bearer auth, CORS for the null origin, multipart submissions validated with the shared schemas,
 * a queue that reports positions, step events (with previews), resumable event streams
 * (Last-Event-ID), results, cancel. Its "model" inverts the source's colours, so results are
 * checkable. It is not the real server: that one is exercised by test/plugin/e2e.test.ts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  DEFAULT_LIMITS,
  EditSettings,
  type ErrorBody,
  type ErrorCode,
  type Job,
  type JobEvent,
  type ModelSummary,
  readPngSize,
  type ServerStatus,
} from '@pixels/shared';
import { decodePng } from '../../../plugin/src/png/png-decode.ts';
import { encodePng } from '../../../plugin/src/png/png-encode.ts';
import { createRaster } from '../../../plugin/src/png/raster.ts';

export interface SubmittedEdit {
  settings: EditSettings;
  source: Uint8Array;
  exemplars: Uint8Array[];
  map?: Uint8Array;
}

interface FakeJob {
  id: string;
  state: Job['state'];
  settings: EditSettings;
  edit: SubmittedEdit;
  createdAt: string;
  seed: number;
  events: Array<{ id: number; event: JobEvent }>;
  listeners: Set<() => void>;
  result?: Uint8Array;
  error?: ErrorBody['error'];
  release: () => void;
  released: Promise<void>;
}

export interface FakeServerOptions {
  /** Required bearer token; none = open server. */
  token?: string;
  /** Events per job. Default 4. */
  steps?: number;
  /** Delay between step events in ms. Default 20. */
  stepDelayMs?: number;
  /** Jobs wait for `releaseJobs()` before starting. Default false. */
  holdJobs?: boolean;
  /** Fail every job with this error once it starts. */
  failJobsWith?: ErrorBody['error'];
  /** Cut the first event stream of each job after this many events (tests resuming). */
  dropStreamAfter?: number;
  models?: ModelSummary[];
  /** Steps this server runs at most (submissions above get invalid_settings, like the real one). Default 150. */
  maxSteps?: number;
  /** Pixels per image this server reports it accepts (the panel caps what it sends by it). Default: DEFAULT_LIMITS'. */
  maxPixels?: number;
  /** Whether /healthz reports the limits (older servers do not). Default true. */
  reportLimits?: boolean;
  workers?: number;
  /** Listen on this port (a test that restarts "the same" server). Default: any free port. */
  port?: number;
}

export const FAKE_MODEL: ModelSummary = {
  name: 'builtin',
  family: 'builtin',
  nativeSize: 512,
  sizeMultiple: 8,
  vaeScaleFactor: 8,
  dtype: 'float32',
  scheduler: 'ddim',
  defaultGuidance: 1,
  usesPrompt: false,
  description: 'Test double of the built-in model',
  parts: {},
};

const CORS_HEADERS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Headers': 'Authorization, Content-Type, Accept, Last-Event-ID',
  'Access-Control-Allow-Methods': 'GET, POST, DELETE, OPTIONS',
  'Access-Control-Max-Age': '600',
};

export class FakePixelsServer {
  readonly jobs = new Map<string, FakeJob>();
  readonly submissions: SubmittedEdit[] = [];
  readonly requests: Array<{ method: string; path: string; headers: IncomingMessage['headers'] }> = [];
  private server: Server | undefined;
  private nextId = 1;
  private holding: boolean;
  url = '';

  constructor(private readonly options: FakeServerOptions = {}) {
    this.holding = options.holdJobs ?? false;
  }

  async start(): Promise<string> {
    this.server = createServer((request, response) => {
      this.handle(request, response).catch((error) => {
        if (!response.headersSent) this.sendError(response, 500, 'internal', (error as Error).message);
        else response.destroy();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(this.options.port ?? 0, '127.0.0.1', resolve));
    // "localhost", not the IP: Figma's devAllowedDomains take no IP literals.
    this.url = `http://localhost:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    for (const job of this.jobs.values()) job.release();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Lets held jobs start. */
  releaseJobs(): void {
    this.holding = false;
    for (const job of this.jobs.values()) job.release();
  }

  get port(): number {
    const address = this.server?.address() as AddressInfo | undefined;
    if (!address) throw new Error('The fake server is not listening.');
    return address.port;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    this.requests.push({ method: request.method ?? '', path: url.pathname, headers: request.headers });
    if (request.method === 'OPTIONS') {
      response.writeHead(204, CORS_HEADERS).end();
      return;
    }
    if (request.method === 'GET' && url.pathname === '/healthz') {
      const status: ServerStatus = {
        status: 'ok',
        workers: this.options.workers ?? 1,
        queued: [...this.jobs.values()].filter((job) => job.state === 'queued').length,
        running: [...this.jobs.values()].filter((job) => job.state === 'running').length,
        uptimeSeconds: 1,
        ...(this.options.reportLimits === false
          ? {}
          : {
              limits: {
                ...DEFAULT_LIMITS,
                maxSteps: this.options.maxSteps ?? DEFAULT_LIMITS.maxSteps,
                maxPixels: this.options.maxPixels ?? DEFAULT_LIMITS.maxPixels,
              },
            }),
      };
      this.sendJson(response, 200, status);
      return;
    }
    if (this.options.token && request.headers.authorization !== `Bearer ${this.options.token}`) {
      this.sendError(response, 401, 'unauthorized', 'Missing or wrong bearer token.');
      return;
    }
    const jobMatch = /^\/v1\/jobs\/([^/]+)(\/events|\/result)?$/.exec(url.pathname);
    if (request.method === 'GET' && url.pathname === '/v1/models') {
      this.sendJson(response, 200, { models: this.options.models ?? [FAKE_MODEL] });
    } else if (request.method === 'POST' && url.pathname === '/v1/edits') {
      await this.submit(request, response);
    } else if (jobMatch) {
      const job = this.jobs.get(decodeURIComponent(jobMatch[1]));
      if (!job) return this.sendError(response, 404, 'not_found', `No job ${jobMatch[1]}.`);
      if (request.method === 'GET' && !jobMatch[2]) this.sendJson(response, 200, this.jobBody(job));
      else if (request.method === 'GET' && jobMatch[2] === '/events') this.streamEvents(job, request, response);
      else if (request.method === 'GET' && jobMatch[2] === '/result') {
        if (!job.result) return this.sendError(response, 409, 'not_done', `Job ${job.id} is ${job.state}.`);
        response.writeHead(200, { ...CORS_HEADERS, 'Content-Type': 'image/png' }).end(Buffer.from(job.result));
      } else if (request.method === 'DELETE' && !jobMatch[2]) {
        if (job.state === 'queued' || job.state === 'running')
          this.finish(job, 'canceled', { type: 'canceled', reason: 'owner' });
        this.sendJson(response, 200, this.jobBody(job));
      } else this.sendError(response, 404, 'not_found', 'No such route.');
    } else {
      this.sendError(response, 404, 'not_found', `No route ${request.method} ${url.pathname}.`);
    }
  }

  private async submit(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const form = await new Request('http://localhost/v1/edits', {
      method: 'POST',
      headers: { 'content-type': request.headers['content-type'] ?? '' },
      body: Buffer.concat(chunks),
    }).formData();
    const settingsPart = form.get('settings');
    const text = typeof settingsPart === 'string' ? settingsPart : await (settingsPart as Blob | null)?.text();
    if (!text) return this.sendError(response, 400, 'missing_part', 'The settings part is missing.', 'settings');
    const parsed = EditSettings.safeParse(JSON.parse(text));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return this.sendError(response, 400, 'invalid_settings', issue.message, `settings.${issue.path.join('.')}`);
    }
    const maxSteps = this.options.maxSteps ?? DEFAULT_LIMITS.maxSteps;
    if (parsed.data.steps > maxSteps) {
      return this.sendError(
        response,
        400,
        'invalid_settings',
        `settings.steps is ${parsed.data.steps}; this server runs at most ${maxSteps} steps. Lower it.`,
        'settings.steps',
      );
    }
    const bytesOf = async (value: FormDataEntryValue | null) =>
      value instanceof Blob ? new Uint8Array(await value.arrayBuffer()) : undefined;
    const source = await bytesOf(form.get('source'));
    if (!source) return this.sendError(response, 400, 'missing_part', 'The source part is missing.', 'source');
    const exemplars = (await Promise.all(form.getAll('exemplar').map(bytesOf))).filter((bytes) => bytes !== undefined);
    if (exemplars.length === 0) return this.sendError(response, 400, 'missing_part', 'No exemplar part.', 'exemplar');
    const map = await bytesOf(form.get('map'));
    const edit: SubmittedEdit = { settings: parsed.data, source, exemplars, ...(map ? { map } : {}) };
    this.submissions.push(edit);

    const id = `job-${this.nextId++}`;
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const job: FakeJob = {
      id,
      state: 'queued',
      settings: parsed.data,
      edit,
      createdAt: new Date().toISOString(),
      seed: parsed.data.seed ?? 1000 + this.nextId,
      events: [],
      listeners: new Set(),
      release,
      released,
    };
    if (!this.holding) release();
    this.jobs.set(id, job);
    const position = [...this.jobs.values()].filter((other) => other.state === 'queued').length;
    this.emit(job, { type: 'queued', position });
    this.sendJson(response, 202, {
      id,
      state: 'queued',
      position,
      eventsUrl: `/v1/jobs/${id}/events`,
      jobUrl: `/v1/jobs/${id}`,
    });
    void this.run(job);
  }

  private async run(job: FakeJob): Promise<void> {
    await job.released;
    if (job.state !== 'queued') return;
    const steps = this.options.steps ?? 4;
    // Step previews fade from the source to the result, like a real denoiser's estimates would.
    const previewOf = job.settings.previews ? await this.previewsFor(job.edit.source) : undefined;
    job.state = 'running';
    this.emit(job, { type: 'started', seed: job.seed, totalSteps: steps });
    for (let step = 1; step <= steps; step++) {
      await new Promise((resolve) => setTimeout(resolve, this.options.stepDelayMs ?? 20));
      if (job.state !== 'running') return;
      this.emit(job, {
        type: 'step',
        step,
        totalSteps: steps,
        elapsedMs: step * 10,
        ...(previewOf ? { preview: await previewOf(step / steps) } : {}),
      });
    }
    if (this.options.failJobsWith) {
      this.finish(job, 'failed', { type: 'failed', error: this.options.failJobsWith, reason: 'server_fault' });
      return;
    }
    const source = await decodePng(job.edit.source);
    for (let i = 0; i < source.data.length; i += 4) {
      for (let c = 0; c < 3; c++) source.data[i + c] = 255 - source.data[i + c];
    }
    job.result = await encodePng(source);
    const { width, height } = readPngSize(job.result);
    this.finish(job, 'done', { type: 'done', resultUrl: `/v1/jobs/${job.id}/result`, width, height });
  }

  /** A small copy of the source; `at(t)` is it inverted by t (0..1), as base64 PNG. */
  private async previewsFor(sourcePng: Uint8Array): Promise<(t: number) => Promise<string>> {
    const source = await decodePng(sourcePng);
    const width = 96;
    const height = Math.max(1, Math.round((source.height * width) / source.width));
    return async (t) => {
      const small = createRaster(width, height, 4);
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const from =
            (Math.floor((y * source.height) / height) * source.width + Math.floor((x * source.width) / width)) * 4;
          const to = (y * width + x) * 4;
          for (let c = 0; c < 3; c++)
            small.data[to + c] = Math.round(source.data[from + c] * (1 - t) + (255 - source.data[from + c]) * t);
          small.data[to + 3] = 255;
        }
      }
      return Buffer.from(await encodePng(small)).toString('base64');
    };
  }

  private finish(job: FakeJob, state: Job['state'], event: JobEvent): void {
    job.state = state;
    if (event.type === 'failed') job.error = event.error;
    this.emit(job, event);
  }

  private emit(job: FakeJob, event: JobEvent): void {
    job.events.push({ id: job.events.length + 1, event });
    for (const listener of job.listeners) listener();
  }

  private streamEvents(job: FakeJob, request: IncomingMessage, response: ServerResponse): void {
    const after = Number(request.headers['last-event-id'] ?? 0);
    response.writeHead(200, { ...CORS_HEADERS, 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    response.write(': stream open\n\n');
    let sent = after;
    let sentThisStream = 0;
    const firstStream = !request.headers['last-event-id'];
    const flush = () => {
      for (const { id, event } of job.events.filter((entry) => entry.id > sent)) {
        const { type, ...data } = event;
        response.write(`id: ${id}\nevent: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
        sent = id;
        sentThisStream += 1;
        if (
          firstStream &&
          this.options.dropStreamAfter !== undefined &&
          sentThisStream >= this.options.dropStreamAfter
        ) {
          // Cut the connection abruptly (no terminal event), once what was written has gone out.
          job.listeners.delete(flush);
          setTimeout(() => response.destroy(), 20);
          return;
        }
        if (type === 'done' || type === 'failed' || type === 'canceled') {
          job.listeners.delete(flush);
          response.end();
          return;
        }
      }
    };
    job.listeners.add(flush);
    response.on('close', () => job.listeners.delete(flush));
    flush();
  }

  private jobBody(job: FakeJob): Job {
    const last = [...job.events].reverse().find((entry) => entry.event.type === 'step')?.event;
    return {
      id: job.id,
      state: job.state,
      settings: job.settings,
      createdAt: job.createdAt,
      ...(job.state !== 'queued' ? { seed: job.seed } : {}),
      ...(last?.type === 'step'
        ? { progress: { step: last.step, totalSteps: last.totalSteps, elapsedMs: last.elapsedMs } }
        : {}),
      ...(job.result ? { resultUrl: `/v1/jobs/${job.id}/result` } : {}),
      ...(job.error ? { error: job.error } : {}),
    };
  }

  private sendJson(response: ServerResponse, status: number, body: unknown): void {
    response.writeHead(status, { ...CORS_HEADERS, 'Content-Type': 'application/json' }).end(JSON.stringify(body));
  }

  private sendError(response: ServerResponse, status: number, code: ErrorCode, message: string, field?: string): void {
    const body: ErrorBody = { error: { code, message, ...(field ? { field } : {}) } };
    this.sendJson(response, status, body);
  }
}
