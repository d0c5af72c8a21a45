import type { EditRunner } from '@pixels/server/edit/edit-runner.ts';
import { createApp } from '@pixels/server/http/app.ts';
import { DEFAULT_SERVER_LIMITS, type ServerLimits } from '@pixels/server/http/server-limits.ts';
import { type TokenEntry, TokenRegistry } from '@pixels/server/http/tokens.ts';
import { createJobQueue } from '@pixels/server/jobs/job-queue.ts';
import { ResultStore } from '@pixels/server/jobs/result-store.ts';
import { JobMetrics } from '@pixels/server/observability/job-metrics.ts';
import { createJsonLogger } from '@pixels/server/observability/logger.ts';
import type { ModelSummary } from '@pixels/shared';
import { afterAll } from 'vitest';
import { discPng, gradientPng } from './png-bytes.ts';

/** Every result store a test app made, removed (with its temporary folder) after the file's tests. */
const stores: ResultStore[] = [];
afterAll(async () => {
  await Promise.all(stores.splice(0).map((store) => store.close()));
});

/** Three users and an admin, as a team's tokens file would list them. */
export const TEAM_TOKENS: TokenEntry[] = [
  { name: 'ana', token: 'ana-token-0123456789abcdef', role: 'user' },
  { name: 'ben', token: 'ben-token-0123456789abcdef', role: 'user' },
  { name: 'cyd', token: 'cyd-token-0123456789abcdef', role: 'user' },
  { name: 'boss', token: 'boss-token-0123456789abcdef', role: 'admin' },
];

export function bearer(name: string): Record<string, string> {
  const entry = TEAM_TOKENS.find((candidate) => candidate.name === name)!;
  return { Authorization: `Bearer ${entry.token}` };
}

/** The app in-process (requests through `app.request`), over a queue with the given runner. */
export function createTestApp(
  runner: EditRunner,
  options: { tokens?: TokenEntry[]; limits?: Partial<ServerLimits>; listModels?: () => Promise<ModelSummary[]> } = {},
) {
  const logLines: Record<string, unknown>[] = [];
  const logger = createJsonLogger({ level: 'debug', write: (line) => logLines.push(JSON.parse(line)) });
  const limits = { ...DEFAULT_SERVER_LIMITS, ...options.limits };
  const metrics = new JobMetrics();
  const results = new ResultStore();
  stores.push(results);
  const queue = createJobQueue({ runners: [runner], limits, logger, metrics, results });
  const app = createApp({
    queue,
    tokens: new TokenRegistry(options.tokens ?? TEAM_TOKENS),
    limits,
    listModels: options.listModels ?? (() => runner.listModels()),
    logger,
    metrics,
    results,
  });
  return { app, queue, logLines };
}

/** A multipart body for POST /v1/edits. */
export function editForm(parts: {
  settings?: unknown;
  source?: Uint8Array;
  exemplars?: Uint8Array[];
  map?: Uint8Array;
}): FormData {
  const form = new FormData();
  if (parts.settings !== undefined) {
    form.append('settings', typeof parts.settings === 'string' ? parts.settings : JSON.stringify(parts.settings));
  }
  if (parts.source) form.append('source', pngBlob(parts.source), 'source.png');
  for (const [index, exemplar] of (parts.exemplars ?? []).entries()) {
    form.append('exemplar', pngBlob(exemplar), `exemplar-${index}.png`);
  }
  if (parts.map) form.append('map', pngBlob(parts.map), 'map.png');
  return form;
}

/**
 * An edit that holds the built-in model's worker for seconds, to be canceled or outlived: 150 steps
 * at 512², where a step (tens of ms) outlasts a request's round trip (at 64² one took about 2 ms,
 * and such a job could finish before the request meant to meet it arrived).
 */
export function longEditForm(): FormData {
  return editForm({
    settings: { steps: 150, strength: 1 },
    source: gradientPng(512, 512),
    exemplars: [discPng(512, 512)],
  });
}

/** Bytes as a file part (copied: Blob wants an ArrayBuffer-backed view). */
export function pngBlob(bytes: Uint8Array): Blob {
  return new Blob([bytes.slice()], { type: 'image/png' });
}
