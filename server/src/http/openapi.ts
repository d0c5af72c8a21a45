import {
  EditSettings,
  ERROR_CODES,
  ErrorBody,
  Job,
  JobEvent,
  ModelList,
  ServerStatus,
  SubmitResponse,
  WorkerList,
} from '@pixels/shared';
import { z } from 'zod';
import { STATUS_BY_CODE } from './error-status.ts';
import type { ServerLimits } from './server-limits.ts';

type JsonObject = Record<string, unknown>;

/** A shared zod schema as a JSON Schema 2020-12 object (OpenAPI 3.1 embeds that dialect as is). */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonObject {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonObject;
  return rest;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: string) => ({ 'application/json': { schema: ref(name) } });

/** A response per error status, listing which codes come with it. */
function errors(...statuses: number[]): JsonObject {
  const result: JsonObject = {};
  for (const status of statuses) {
    const codes = ERROR_CODES.filter((code) => STATUS_BY_CODE[code] === status);
    result[String(status)] = { description: `Error; code is one of: ${codes.join(', ')}.`, content: json('ErrorBody') };
  }
  return result;
}

const JOB_ID = {
  name: 'id',
  in: 'path',
  required: true,
  schema: { type: 'string' },
  description: 'The job id from POST /v1/edits.',
};
const JOB_ERRORS = errors(401, 403, 404);

/** The OpenAPI 3.1 document, generated from the same zod schemas that validate requests. */
export function buildOpenApiDocument(limits: ServerLimits): JsonObject {
  const imagePart = { type: 'string', contentMediaType: 'application/octet-stream', description: 'PNG, JPEG or WebP.' };
  return {
    openapi: '3.1.0',
    info: {
      title: 'PIXELS team server',
      version: '1',
      description:
        'Exemplar-based image edits for a design team: submit an edit, follow its progress as server-sent events, fetch the PNG. ' +
        'Every error has the ErrorBody shape: a stable code to switch on and a message that says what to change.',
    },
    // Relative to where this document is served, so it stays right behind a proxy or on another port.
    servers: [{ url: '/', description: 'This server (the one serving this document)' }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'A token from the server admin.' } },
      schemas: {
        EditSettings: jsonSchema(EditSettings, 'input'),
        SubmitResponse: jsonSchema(SubmitResponse, 'output'),
        Job: jsonSchema(Job, 'output'),
        JobEvent: jsonSchema(JobEvent, 'output'),
        ModelList: jsonSchema(ModelList, 'output'),
        WorkerList: jsonSchema(WorkerList, 'output'),
        ServerStatus: jsonSchema(ServerStatus, 'output'),
        ErrorBody: jsonSchema(ErrorBody, 'output'),
      },
    },
    security: [{ bearer: [] }],
    paths: {
      '/v1/edits': {
        post: {
          summary: 'Submit an edit',
          description:
            `Multipart parts: settings (JSON, optional: every setting has a default), source (the image to edit), exemplar ` +
            `(repeat for several, bottom layer first, each already placed in the source's frame), map (optional grayscale edit map: ` +
            `white = change fully, black = keep the source; settings.invertMap flips it). Limits here: ${limits.maxExemplars} exemplars, ` +
            `${limits.maxPixels} pixels per image, ${limits.maxBodyBytes} bytes per request, ${limits.maxSteps} steps, ` +
            `${limits.maxQueuedPerUser} jobs per user queued or running, ${limits.maxQueued} waiting in all, ` +
            `${limits.maxQueuedInputBytesPerUser} bytes of queued images per user, aspect ratios up to 1:${limits.maxAspectRatio}. ` +
            'Images are read upright (EXIF orientation applied). A refused upload is answered with Connection: close and not read further.',
          requestBody: {
            required: true,
            content: {
              'multipart/form-data': {
                schema: {
                  type: 'object',
                  required: ['source', 'exemplar'],
                  properties: {
                    settings: ref('EditSettings'),
                    source: imagePart,
                    exemplar: { type: 'array', items: imagePart },
                    map: imagePart,
                  },
                },
                encoding: { settings: { contentType: 'application/json' } },
              },
            },
          },
          responses: {
            '202': {
              description: 'Queued. Follow eventsUrl; Location is the job URL.',
              content: json('SubmitResponse'),
            },
            ...errors(400, 401, 413, 429, 503),
          },
        },
      },
      '/v1/jobs/{id}': {
        get: {
          summary: "A job's state, queue position and progress",
          parameters: [JOB_ID],
          responses: { '200': { description: 'The job.', content: json('Job') }, ...JOB_ERRORS },
        },
        delete: {
          summary: 'Cancel a job',
          description:
            'A queued job is canceled at once; a running one stops within one step (the answer waits for it, up to 5 s, ' +
            'then says running and the event stream reports canceled). A finished job is deleted with its result.',
          parameters: [JOB_ID],
          responses: { '200': { description: 'The job after the cancel.', content: json('Job') }, ...JOB_ERRORS },
        },
      },
      '/v1/jobs/{id}/events': {
        get: {
          summary: 'Progress as server-sent events',
          description:
            'Events: queued (position), started, step (i of N, with a base64 JPEG preview when settings.previews), then one of done, ' +
            '(a job whose worker was lost, or handed it on while stopping, gets requeued with its reason and the next attempt, then queued and started again, that started carrying attempt) ' +
            'failed, canceled (failed and canceled carry a reason: owner, admin, shutdown, worker_lost, out_of_memory, bad_input, server_fault), after which the stream ends. Each event has an id: to resume after a drop, reconnect with the header ' +
            'Last-Event-ID (or ?lastEventId=) set to the last id seen; the latest position and progress are sent again, nothing is lost.',
          parameters: [
            JOB_ID,
            { name: 'Last-Event-ID', in: 'header', required: false, schema: { type: 'string' } },
            { name: 'lastEventId', in: 'query', required: false, schema: { type: 'string' } },
          ],
          responses: {
            '200': {
              description: "Each event's data is a JobEvent.",
              content: { 'text/event-stream': { schema: ref('JobEvent') } },
            },
            ...errors(400, 401, 403, 404),
          },
        },
      },
      '/v1/jobs/{id}/result': {
        get: {
          summary: 'The finished PNG (every setting and the seed embedded in a text chunk)',
          parameters: [JOB_ID],
          responses: {
            '200': {
              description: 'The result at the source size. Server-Timing tells the engine time.',
              content: { 'image/png': { schema: { type: 'string', contentMediaType: 'image/png' } } },
            },
            ...errors(401, 403, 404, 409),
          },
        },
      },
      '/v1/models': {
        get: {
          summary: 'Installed models',
          responses: { '200': { description: 'Models.', content: json('ModelList') }, ...errors(401) },
        },
      },
      '/v1/workers': {
        get: {
          summary: 'The workers: devices, models, current job, last heartbeat, live or lost (admin)',
          responses: { '200': { description: 'Workers.', content: json('WorkerList') }, ...errors(401, 403) },
        },
      },
      '/healthz': {
        get: {
          summary: 'Liveness',
          security: [],
          responses: { '200': { description: 'Alive.', content: json('ServerStatus') } },
        },
      },
      '/readyz': {
        get: {
          summary: 'Readiness: takes jobs (503 while shutting down)',
          security: [],
          responses: { '200': { description: 'Ready.', content: json('ServerStatus') }, ...errors(503) },
        },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics: queue depth, jobs by state, step and job durations',
          responses: {
            '200': { description: 'Text exposition format.', content: { 'text/plain': {} } },
            ...errors(401),
          },
        },
      },
      '/openapi.json': {
        get: { summary: 'This document', security: [], responses: { '200': { description: 'OpenAPI 3.1.' } } },
      },
      '/docs': {
        get: { summary: 'The API as a web page', security: [], responses: { '200': { description: 'HTML.' } } },
      },
      '/': {
        get: { summary: 'Redirects to /docs', security: [], responses: { '302': { description: 'To /docs.' } } },
      },
    },
  };
}
