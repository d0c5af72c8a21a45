import { EditSettings, ErrorBody, Job, JobEvent, ModelList, ServerStatus, SubmitResponse } from '@pixels/shared';
import type { z } from 'zod';
import { ApiError } from './api-error.ts';
import { normalizeServerUrl } from './server-url.ts';
import { SseParser } from './sse-parser.ts';

/** Encoded PNGs of one edit, exemplars in z-order (bottom first). */
export interface EditUpload {
  source: Uint8Array;
  exemplars: readonly Uint8Array[];
  map?: Uint8Array;
}

export interface JobEventWithId {
  event: JobEvent;
  /** The SSE id, to resume the stream after it (Last-Event-ID). */
  id: string;
}

type Fetch = typeof fetch;

function pngBlob(bytes: Uint8Array): Blob {
  return new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'image/png' });
}

/**
 * The PIXELS HTTP API as the panel uses it: every response is parsed with the
 * shared schemas, and every failure becomes an ApiError with a stable code and advice.
 */
export class PixelsClient {
  readonly serverUrl: string;

  constructor(
    serverUrl: string,
    private readonly token: string,
    private readonly fetchImpl: Fetch = (input, init) => fetch(input, init),
  ) {
    this.serverUrl = normalizeServerUrl(serverUrl);
  }

  /** `GET /v1/models`: what the server can run. */
  models(signal?: AbortSignal): Promise<ModelList> {
    return this.json(this.url('/v1/models'), { method: 'GET', signal }, ModelList);
  }

  /** `GET /healthz`: the server's state and, from newer servers, the limits it puts on an edit. */
  status(signal?: AbortSignal): Promise<ServerStatus> {
    return this.json(this.url('/healthz'), { method: 'GET', signal }, ServerStatus);
  }

  /** `POST /v1/edits`: queues one edit; answers 202 with the job id and where to follow it. */
  submit(settings: EditSettings, upload: EditUpload, signal?: AbortSignal): Promise<SubmitResponse> {
    const checked = EditSettings.safeParse(settings);
    if (!checked.success) {
      const issue = checked.error.issues[0];
      const field = `settings.${issue.path.join('.')}`;
      return Promise.reject(new ApiError('invalid_settings', `${field}: ${issue.message}`, undefined, field));
    }
    const form = new FormData();
    form.append('settings', JSON.stringify(checked.data));
    form.append('source', pngBlob(upload.source), 'source.png');
    for (const [index, exemplar] of upload.exemplars.entries())
      form.append('exemplar', pngBlob(exemplar), `exemplar-${index}.png`);
    if (upload.map) form.append('map', pngBlob(upload.map), 'map.png');
    return this.json(this.url('/v1/edits'), { method: 'POST', body: form, signal }, SubmitResponse);
  }

  /** `GET /v1/jobs/:id`. */
  job(jobId: string, signal?: AbortSignal): Promise<Job> {
    return this.json(this.url(`/v1/jobs/${encodeURIComponent(jobId)}`), { method: 'GET', signal }, Job);
  }

  /** `DELETE /v1/jobs/:id`: cancels a queued or running job. */
  async cancel(jobId: string): Promise<void> {
    const response = await this.send(this.url(`/v1/jobs/${encodeURIComponent(jobId)}`), { method: 'DELETE' });
    await response.body?.cancel();
  }

  /** `GET /v1/jobs/:id/result`: the finished PNG. */
  async result(resultUrl: string, signal?: AbortSignal): Promise<Uint8Array> {
    const response = await this.send(this.url(resultUrl), { method: 'GET', signal, headers: { Accept: 'image/png' } });
    return new Uint8Array(await response.arrayBuffer());
  }

  /**
   * `GET /v1/jobs/:id/events`: reads the server-sent events of a job with fetch (EventSource
   * cannot send the token), calling `onEvent` for each, until the server closes the stream or
   * `onEvent` answers 'stop'. Resumes after `lastEventId` when given.
   */
  async streamEvents(
    eventsUrl: string,
    onEvent: (event: JobEventWithId) => 'stop' | undefined,
    options: { lastEventId?: string; signal?: AbortSignal } = {},
  ): Promise<void> {
    const headers: Record<string, string> = { Accept: 'text/event-stream' };
    if (options.lastEventId) headers['Last-Event-ID'] = options.lastEventId;
    const response = await this.send(this.url(eventsUrl), { method: 'GET', headers, signal: options.signal });
    if (!response.body) throw new ApiError('protocol', 'The event stream arrived without a body.', response.status);
    let failure: unknown;
    let stopped = false;
    const parser = new SseParser((message) => {
      if (failure || stopped) return;
      let event: JobEvent;
      try {
        const data = JSON.parse(message.data) as Record<string, unknown>;
        event = JobEvent.parse({ type: message.event, ...data });
      } catch (error) {
        failure = new ApiError(
          'protocol',
          `The server sent an event this plugin cannot read (${message.event}: ${(error as Error).message}).`,
        );
        return;
      }
      stopped = onEvent({ event, id: message.lastEventId }) === 'stop';
    });
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        parser.push(value);
        if (failure) throw failure;
        if (stopped) {
          await reader.cancel();
          break;
        }
      }
    } catch (error) {
      throw this.wrapFailure(error);
    } finally {
      reader.releaseLock();
    }
  }

  /** Resolves a path of the API, or a URL the server handed out, against the server URL. */
  url(pathOrUrl: string): string {
    if (/^https?:\/\//.test(pathOrUrl)) return pathOrUrl;
    // A server behind a path prefix still hands out "/v1/..." paths: keep the prefix.
    return `${this.serverUrl}${pathOrUrl.startsWith('/') ? '' : '/'}${pathOrUrl}`;
  }

  private async json<T>(url: string, init: RequestInit, schema: z.ZodType<T>): Promise<T> {
    const response = await this.send(url, {
      ...init,
      headers: { Accept: 'application/json', ...(init.headers as Record<string, string>) },
    });
    let body: unknown;
    try {
      body = await response.json();
    } catch (error) {
      throw new ApiError(
        'protocol',
        `${url} answered with something other than JSON (${(error as Error).message}).`,
        response.status,
      );
    }
    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      const problems = parsed.error.issues
        .map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`)
        .join('; ');
      throw new ApiError('protocol', `${url} answered in an unexpected shape (${problems}).`, response.status);
    }
    return parsed.data;
  }

  private async send(url: string, init: RequestInit): Promise<Response> {
    const headers: Record<string, string> = { ...(init.headers as Record<string, string>) };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    let response: Response;
    try {
      response = await this.fetchImpl(url, { ...init, headers });
    } catch (error) {
      throw this.wrapFailure(error);
    }
    if (!response.ok) throw await errorFromResponse(response);
    return response;
  }

  private wrapFailure(error: unknown): unknown {
    if (error instanceof ApiError) return error;
    if (error instanceof DOMException && error.name === 'AbortError')
      return new ApiError('aborted', 'The request was stopped.');
    return new ApiError('network', `Could not reach the server at ${this.serverUrl} (${(error as Error).message}).`);
  }
}

async function errorFromResponse(response: Response): Promise<ApiError> {
  const text = await response.text().catch(() => '');
  try {
    const parsed = ErrorBody.safeParse(JSON.parse(text));
    if (parsed.success) {
      const { code, message, field } = parsed.data.error;
      return new ApiError(code, message, response.status, field);
    }
  } catch {
    // Not JSON: fall through to a message built from the status.
  }
  if (response.status === 401) return new ApiError('unauthorized', 'The server wants a valid access token.', 401);
  return new ApiError(
    'protocol',
    `The server answered HTTP ${response.status} ${response.statusText} without a PIXELS error body.`,
    response.status,
  );
}
