import { EditSettings, Job } from '@pixels/shared';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ScriptedEditRunner } from '../jobs/scripted-edit-runner.ts';
import { bearer, createTestApp, editForm } from './app-harness.ts';
import { discPng, gradientPng } from './png-bytes.ts';
import { readEventStream } from './sse-client.ts';

interface PropertySchema {
  description?: string;
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  minLength?: number;
  enum?: string[];
}

const drains: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(drains.splice(0).map((drain) => drain()));
});

const { properties } = EditSettings.toJSONSchema({ io: 'input' }) as { properties: Record<string, PropertySchema> };
const defaults = EditSettings.parse({}) as Record<string, unknown>;

/** How a description states a default: `Default 0.6.`, `Default 'builtin'`, `Default empty.`, `Default: random…`. */
function statedDefault(value: unknown): RegExp {
  if (value === undefined) return /Default: /;
  if (value === '') return /Default empty\./;
  return new RegExp(`Default '?${String(value).replace('.', '\\.')}'?[ .]`);
}

describe('the settings schema describes itself', () => {
  it.each(Object.keys(EditSettings.shape))('%s: meaning, range and default, taken from the schema', (field) => {
    const property = properties[field];
    const description = property.description ?? '';
    expect(description.length).toBeGreaterThan(40);
    expect(description).toMatch(statedDefault(defaults[field]));
    if (property.minimum !== undefined) expect(description).toContain(`${property.minimum} to ${property.maximum}`);
    if (property.maxLength !== undefined) expect(description).toContain(`${property.maxLength} characters`);
    for (const choice of property.enum ?? []) expect(description).toContain(choice);
  });
});

describe('openapi.json and /docs', () => {
  it('name the server and explain every settings field', async () => {
    const harness = createTestApp(new ScriptedEditRunner());
    drains.push(() => harness.queue.drain(0));
    const document = await (await harness.app.request('/openapi.json')).json();
    expect(document.servers).toEqual([{ url: '/', description: expect.any(String) }]);
    const documented = document.components.schemas.EditSettings.properties as Record<string, PropertySchema>;
    expect(Object.keys(documented)).toEqual(Object.keys(EditSettings.shape));
    const html = await (await harness.app.request('/docs')).text();
    for (const [field, property] of Object.entries(documented)) {
      expect(property.description).toBe(properties[field].description);
      const escaped = property.description!.replace(/'/g, '&#39;');
      expect(html).toContain(`<tr><td><code>${field}</code></td>`);
      expect(html).toContain(escaped);
    }
  });
});

describe('openapi.json covers the API', () => {
  it('describes every route the app serves, with each of its methods', async () => {
    const harness = createTestApp(new ScriptedEditRunner());
    drains.push(() => harness.queue.drain(0));
    const document = await (await harness.app.request('/openapi.json')).json();
    const served = harness.app.routes
      .filter((route) => route.method !== 'ALL' && route.method !== 'OPTIONS')
      .map((route) => `${route.method.toLowerCase()} ${route.path.replace(/:(\w+)/g, '{$1}')}`);
    const described = Object.entries(document.paths as Record<string, Record<string, unknown>>).flatMap(
      ([path, operations]) => Object.keys(operations).map((method) => `${method} ${path}`),
    );
    expect(served).toContain('get /v1/workers');
    expect([...new Set(served)].sort()).toEqual([...new Set(described)].sort());
  });
});

describe('progress on the wire', () => {
  it('carries elapsedMs in whole milliseconds, in the events and the job', async () => {
    // The scripted runner reports performance.now() differences: fractions of a millisecond.
    const harness = createTestApp(new ScriptedEditRunner({ stepMs: 3 }));
    drains.push(() => harness.queue.drain(0));
    const form = editForm({ settings: { steps: 4 }, source: gradientPng(), exemplars: [discPng()] });
    const submit = await (
      await harness.app.request('/v1/edits', { method: 'POST', body: form, headers: bearer('ana') })
    ).json();
    const events = await readEventStream(await harness.app.request(submit.eventsUrl, { headers: bearer('ana') }));
    const steps = events.flatMap(({ event }) => (event.type === 'step' ? [event.elapsedMs] : []));
    expect(steps).toHaveLength(4);
    for (const elapsedMs of steps) expect(Number.isInteger(elapsedMs)).toBe(true);
    await vi.waitFor(async () => {
      const job = Job.parse(await (await harness.app.request(submit.jobUrl, { headers: bearer('ana') })).json());
      expect(job.state).toBe('done');
      expect(Number.isInteger(job.progress?.elapsedMs)).toBe(true);
    });
  });
});
