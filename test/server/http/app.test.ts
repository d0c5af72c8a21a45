import { DEFAULT_SERVER_LIMITS } from '@pixels/server/http/server-limits.ts';
import { EditSettings, ErrorBody, Job, ModelList, ServerStatus, SubmitResponse } from '@pixels/shared';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ScriptedEditRunner } from '../jobs/scripted-edit-runner.ts';
import { bearer, createTestApp, editForm } from './app-harness.ts';
import { discPng, gradientPng } from './png-bytes.ts';

const drains: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(drains.splice(0).map((drain) => drain()));
});

function setup(...args: Parameters<typeof createTestApp>) {
  const harness = createTestApp(...args);
  drains.push(() => harness.queue.drain(0));
  return harness;
}

async function errorOf(response: Response) {
  return ErrorBody.parse(await response.json()).error;
}

const GOOD_EDIT = () => editForm({ settings: { steps: 3 }, source: gradientPng(), exemplars: [discPng()] });

describe('team server app (in-process)', () => {
  it('answers health and readiness without a token', async () => {
    const { app, queue } = setup(new ScriptedEditRunner(), { limits: { maxSteps: 37, maxExemplars: 3 } });
    const health = await app.request('/healthz');
    expect(health.status).toBe(200);
    const status = ServerStatus.parse(await health.json());
    expect(status).toMatchObject({ status: 'ok', workers: 1, queued: 0 });
    // Clients bound their inputs by these before sending: the server's own limits, not the defaults.
    expect(status.limits).toEqual({
      maxSteps: 37,
      maxExemplars: 3,
      maxPromptLength: DEFAULT_SERVER_LIMITS.maxPromptLength,
      maxPixels: DEFAULT_SERVER_LIMITS.maxPixels,
      maxBodyBytes: DEFAULT_SERVER_LIMITS.maxBodyBytes,
    });
    expect((await app.request('/readyz')).status).toBe(200);
    await queue.drain(0);
    const draining = await app.request('/readyz');
    expect(draining.status).toBe(503);
    expect((await errorOf(draining)).code).toBe('not_ready');
  });

  it('refuses missing, malformed and unknown tokens with 401 and the shared error shape', async () => {
    const { app } = setup(new ScriptedEditRunner());
    const none = await app.request('/v1/models');
    expect(none.status).toBe(401);
    expect(none.headers.get('WWW-Authenticate')).toContain('Bearer');
    expect(await errorOf(none)).toMatchObject({
      code: 'unauthorized',
      message: expect.stringContaining('Authorization: Bearer'),
    });
    const basic = await app.request('/v1/models', { headers: { Authorization: 'Basic YW5hOnB3' } });
    expect((await errorOf(basic)).message).toBe('The Authorization header must read "Bearer <token>".');
    const wrong = await app.request('/v1/models', { headers: { Authorization: 'Bearer not-a-real-token-at-all' } });
    expect(wrong.status).toBe(401);
    expect((await errorOf(wrong)).message).toContain('not known to this server');
    const metrics = await app.request('/metrics');
    expect(metrics.status).toBe(401);
  });

  it('lists models for a known token, and needs none when no tokens are configured', async () => {
    const { app } = setup(new ScriptedEditRunner());
    const response = await app.request('/v1/models', { headers: bearer('ana') });
    expect(response.status).toBe(200);
    expect(ModelList.parse(await response.json()).models.map((model) => model.name)).toEqual(['builtin']);
    const open = setup(new ScriptedEditRunner(), { tokens: [] });
    expect((await open.app.request('/v1/models')).status).toBe(200);
  });

  it('answers CORS preflights from the Figma iframe (origin null) and puts CORS headers on errors too', async () => {
    const { app } = setup(new ScriptedEditRunner());
    const preflight = await app.request('/v1/edits', {
      method: 'OPTIONS',
      headers: {
        Origin: 'null',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'authorization,content-type',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('Access-Control-Allow-Origin')).toBe('*');
    expect(preflight.headers.get('Access-Control-Allow-Methods')).toContain('DELETE');
    expect(preflight.headers.get('Access-Control-Allow-Headers')).toContain('Authorization');
    expect(preflight.headers.get('Access-Control-Allow-Credentials')).toBeNull();
    const refused = await app.request('/v1/models', { headers: { Origin: 'null' } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('Access-Control-Allow-Origin')).toBe('*');
    const missing = await app.request('/nowhere', { headers: { Origin: 'null' } });
    expect(missing.headers.get('Access-Control-Allow-Origin')).toBe('*');
  });

  it('takes an edit, reports the job, and serves the PNG once done', async () => {
    const runner = new ScriptedEditRunner({ holdSteps: true });
    const { app } = setup(runner);
    const submitted = await app.request('/v1/edits', { method: 'POST', body: GOOD_EDIT(), headers: bearer('ana') });
    expect(submitted.status).toBe(202);
    const submit = SubmitResponse.parse(await submitted.json());
    expect(submit).toMatchObject({ state: 'queued', position: 1, jobUrl: `/v1/jobs/${submit.id}` });
    expect(submitted.headers.get('Location')).toBe(submit.jobUrl);

    await vi.waitFor(() => expect(runner.heldSteps).toBe(1));
    const early = await app.request(`/v1/jobs/${submit.id}/result`, { headers: bearer('ana') });
    expect(early.status).toBe(409);
    expect(await errorOf(early)).toMatchObject({ code: 'not_done', message: expect.stringContaining('is running') });

    for (let step = 0; step < 3; step++) {
      await vi.waitFor(() => expect(runner.heldSteps).toBe(1));
      runner.release();
    }
    await vi.waitFor(async () => {
      const job = Job.parse(await (await app.request(submit.jobUrl, { headers: bearer('ana') })).json());
      expect(job).toMatchObject({ state: 'done', seed: 1234, resultUrl: `/v1/jobs/${submit.id}/result` });
      expect(job.settings).toEqual(EditSettings.parse({ steps: 3 }));
    });
    const result = await app.request(`/v1/jobs/${submit.id}/result`, { headers: bearer('ana') });
    expect(result.status).toBe(200);
    expect(result.headers.get('Content-Type')).toBe('image/png');
    expect(result.headers.get('Server-Timing')).toMatch(/^engine;dur=\d+(\.\d)?$/);
    const png = new Uint8Array(await result.arrayBuffer());
    expect([...png.subarray(1, 4)]).toEqual([0x50, 0x4e, 0x47]);
  });

  it("keeps each user's jobs to that user; admins may read and cancel any", async () => {
    const runner = new ScriptedEditRunner({ holdSteps: true });
    const { app } = setup(runner);
    const submit = SubmitResponse.parse(
      await (await app.request('/v1/edits', { method: 'POST', body: GOOD_EDIT(), headers: bearer('ana') })).json(),
    );
    for (const path of [submit.jobUrl, submit.eventsUrl, `${submit.jobUrl}/result`]) {
      const other = await app.request(path, { headers: bearer('ben') });
      expect(other.status).toBe(403);
      expect(await errorOf(other)).toMatchObject({ code: 'forbidden', field: 'id' });
    }
    const deleteByOther = await app.request(submit.jobUrl, { method: 'DELETE', headers: bearer('ben') });
    expect(deleteByOther.status).toBe(403);
    expect((await app.request(submit.jobUrl, { headers: bearer('boss') })).status).toBe(200);
    const canceled = await app.request(submit.jobUrl, { method: 'DELETE', headers: bearer('boss') });
    expect(canceled.status).toBe(200);
    expect(Job.parse(await canceled.json()).state).toBe('canceled');
  });

  it('answers 404 for unknown and malformed job ids', async () => {
    const { app } = setup(new ScriptedEditRunner());
    for (const id of ['AAAAAAAAAAAAAAAAAAAAAA', 'x', '..%2F..%2Fetc']) {
      const response = await app.request(`/v1/jobs/${id}`, { headers: bearer('ana') });
      expect(response.status).toBe(404);
      expect((await errorOf(response)).code).toBe('not_found');
    }
    const route = await app.request('/v2/edits', { headers: bearer('ana') });
    expect(route.status).toBe(404);
    expect((await errorOf(route)).message).toContain('/openapi.json');
  });

  it('answers a real server fault with 500 internal, no internals, and a log line', async () => {
    const { app, logLines } = setup(new ScriptedEditRunner(), {
      listModels: async () => {
        throw new Error('models folder vanished: /secret/path');
      },
    });
    const response = await app.request('/v1/models', { headers: bearer('ana') });
    expect(response.status).toBe(500);
    const error = await errorOf(response);
    expect(error.code).toBe('internal');
    expect(error.message).not.toContain('/secret/path');
    const line = logLines.find((entry) => entry.level === 'error');
    expect(line?.error).toMatchObject({ message: 'models folder vanished: /secret/path' });
  });

  it('publishes an OpenAPI 3.1 document generated from the shared schemas, and an API page', async () => {
    const { app } = setup(new ScriptedEditRunner());
    const document = await (await app.request('/openapi.json')).json();
    expect(document.openapi).toBe('3.1.0');
    const { $schema: _dialect, ...settingsSchema } = EditSettings.toJSONSchema({ io: 'input' });
    expect(document.components.schemas.EditSettings).toEqual(settingsSchema);
    expect(Object.keys(document.components.schemas)).toEqual(
      expect.arrayContaining(['SubmitResponse', 'Job', 'JobEvent', 'ErrorBody', 'ModelList', 'ServerStatus']),
    );
    const paths = [
      '/v1/edits',
      '/v1/jobs/{id}',
      '/v1/jobs/{id}/events',
      '/v1/jobs/{id}/result',
      '/v1/models',
      '/healthz',
      '/readyz',
      '/metrics',
    ];
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(paths));
    const page = await app.request('/docs');
    expect(page.headers.get('Content-Type')).toContain('text/html');
    const html = await page.text();
    for (const path of paths) expect(html).toContain(`<code>${path}</code>`);
    expect((await app.request('/')).headers.get('Location')).toBe('/docs');
  });

  it('exposes Prometheus metrics: queue depth, jobs by state, step and job durations', async () => {
    const { app, queue } = setup(new ScriptedEditRunner());
    await app.request('/v1/edits', { method: 'POST', body: GOOD_EDIT(), headers: bearer('ana') });
    await vi.waitFor(() => expect(queue.stats().byState.done).toBe(1));
    const response = await app.request('/metrics', { headers: bearer('ana') });
    expect(response.headers.get('Content-Type')).toContain('text/plain');
    const text = await response.text();
    expect(text).toContain('pixels_queue_depth 0');
    expect(text).toContain('pixels_jobs{state="done"} 1');
    expect(text).toContain('pixels_step_duration_seconds_count 3');
    expect(text).toContain('pixels_job_run_duration_seconds_count 1');
    expect(text).toContain('pixels_jobs_finished_total{state="done"} 1');
    expect(text).toMatch(/pixels_step_duration_seconds_bucket\{le="\+Inf"\} 3/);
  });

  it('logs one JSON line per request with method, path, status, duration and caller', async () => {
    const { app, logLines } = setup(new ScriptedEditRunner());
    await app.request('/v1/models', { headers: bearer('ben') });
    expect(logLines.find((line) => line.msg === 'request' && line.path === '/v1/models')).toMatchObject({
      level: 'info',
      method: 'GET',
      status: 200,
      caller: 'ben',
      durationMs: expect.any(Number),
    });
  });
});
