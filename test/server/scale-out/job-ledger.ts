import { createHash } from 'node:crypto';
import { END_REASONS, Job, SubmitResponse } from '@pixels/shared';
import { bearer, editForm } from '../http/app-harness.ts';
import { discPng, gradientPng } from '../http/png-bytes.ts';

/** One edit the test sent and the server accepted (202): from then on it must end and its owner be told. */
export interface AcceptedJob {
  id: string;
  owner: string;
  submittedAt: number;
}

/** An edit small enough to run in about a second on the built-in model (the machine has 2 shared cores). */
export interface SmallEdit {
  side?: number;
  steps?: number;
  strength?: number;
}

export function smallEditForm(edit: SmallEdit = {}, seed = 1): FormData {
  const side = edit.side ?? 64;
  return editForm({
    settings: { steps: edit.steps ?? 4, strength: edit.strength ?? 1, seed },
    source: gradientPng(side, side),
    exemplars: [discPng(side, side)],
  });
}

/** How a job looked when the ledger last asked: its JSON, or the status of a non-2xx answer. */
export type Observation = { kind: 'job'; job: Job } | { kind: 'missing'; status: number; body: string };

const ENDED = new Set(['done', 'failed', 'canceled']);
const REQUEST_TIMEOUT_MS = 15_000;

/**
 * Every edit a fault test submits, counted, and what the server says about each afterwards, asked
 * as its owner through the public HTTP API only (the API node may be restarting: an unreachable
 * server is retried until the deadline, never counted as an answer).
 */
export class JobLedger {
  readonly accepted: AcceptedJob[] = [];
  /** Submissions answered with something other than 202, e.g. a 503 while Redis is down. */
  readonly refused: { owner: string; status: number; body: string }[] = [];
  private seed = 0;

  constructor(private readonly baseUrl: string) {}

  /** POST /v1/edits as `owner`; records the job when accepted, the answer when refused. */
  async submit(owner: string, edit: SmallEdit = {}): Promise<AcceptedJob | undefined> {
    const response = await fetch(`${this.baseUrl}/v1/edits`, {
      method: 'POST',
      body: smallEditForm(edit, ++this.seed),
      headers: bearer(owner),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    if (response.status !== 202) {
      this.refused.push({ owner, status: response.status, body: await response.text() });
      return undefined;
    }
    const submitted = SubmitResponse.parse(await response.json());
    const accepted = { id: submitted.id, owner, submittedAt: Date.now() };
    this.accepted.push(accepted);
    return accepted;
  }

  /**
   * Submits until accepted while the answer is 503 (a node still reconnecting to Redis), at most
   * `timeoutMs`; any other refusal ends the tries. Every refusal is recorded.
   */
  async submitWhenReady(owner: string, edit: SmallEdit = {}, timeoutMs = 30_000): Promise<AcceptedJob | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 0; attempt < 100 && Date.now() < deadline; attempt++) {
      const accepted = await this.submit(owner, edit).catch(() => undefined);
      if (accepted) return accepted;
      const refusal = this.refused.at(-1);
      if (refusal && refusal.status !== 503) return undefined;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    return undefined;
  }

  /** GET /v1/jobs/:id as its owner; undefined while the server cannot be reached. */
  async observe(job: AcceptedJob): Promise<Observation | undefined> {
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}/v1/jobs/${job.id}`, {
        headers: bearer(job.owner),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch {
      return undefined;
    }
    if (response.status !== 200) return { kind: 'missing', status: response.status, body: await response.text() };
    return { kind: 'job', job: Job.parse(await response.json()) };
  }

  /**
   * Polls every accepted job until each has ended or `timeoutMs` passed; returns what was last
   * seen of each (a job never seen at all is absent). Bounded in time and in rounds.
   */
  async waitUntilAllEnded(timeoutMs: number, pollMs = 250): Promise<Map<string, Observation>> {
    const seen = new Map<string, Observation>();
    const deadline = Date.now() + timeoutMs;
    const maxRounds = Math.ceil(timeoutMs / pollMs) + 1;
    for (let round = 0; round < maxRounds && Date.now() < deadline; round++) {
      const open = this.accepted.filter((job) => !isEnded(seen.get(job.id)));
      if (open.length === 0) break;
      for (const job of open) {
        const observation = await this.observe(job);
        if (observation) seen.set(job.id, observation);
      }
      if (this.accepted.every((job) => isEnded(seen.get(job.id)))) break;
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
    return seen;
  }

  /** The finished PNG of a done job, as its owner downloads it. */
  async result(job: AcceptedJob): Promise<{ status: number; bytes: Buffer }> {
    const response = await fetch(`${this.baseUrl}/v1/jobs/${job.id}/result`, {
      headers: bearer(job.owner),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    return { status: response.status, bytes: Buffer.from(await response.arrayBuffer()) };
  }
}

export function isEnded(observation: Observation | undefined): boolean {
  return observation?.kind === 'job' && ENDED.has(observation.job.state);
}

/** A tally of how every accepted job ended; `lost` lists each one that did not end with its owner told why. */
export interface Outcome {
  accepted: number;
  done: number;
  failed: number;
  canceled: number;
  lost: { id: string; seen: string }[];
  /** Reasons of the failed and canceled jobs, e.g. { worker_lost: 1 }. */
  reasons: Record<string, number>;
}

/**
 * Counts what happened to every accepted job. A job is lost if the server forgot it (404), never
 * ended, or ended failed/canceled without a reason code from the shared list, or failed without
 * an error message its owner can read.
 */
export function tally(ledger: JobLedger, seen: Map<string, Observation>): Outcome {
  const outcome: Outcome = { accepted: ledger.accepted.length, done: 0, failed: 0, canceled: 0, lost: [], reasons: {} };
  for (const job of ledger.accepted) {
    const observation = seen.get(job.id);
    if (!observation) {
      outcome.lost.push({ id: job.id, seen: 'never answered' });
      continue;
    }
    if (observation.kind === 'missing') {
      outcome.lost.push({ id: job.id, seen: `${observation.status} ${observation.body.slice(0, 200)}` });
      continue;
    }
    const { state, reason, error } = observation.job;
    if (state === 'done') {
      outcome.done++;
      continue;
    }
    const told =
      (state === 'failed' || state === 'canceled') &&
      reason !== undefined &&
      (END_REASONS as readonly string[]).includes(reason) &&
      (state === 'canceled' || (error !== undefined && error.message.length > 0));
    if (!told) {
      outcome.lost.push({ id: job.id, seen: `${state}${reason ? ` (${reason})` : ''}` });
      continue;
    }
    outcome[state]++;
    outcome.reasons[reason!] = (outcome.reasons[reason!] ?? 0) + 1;
  }
  return outcome;
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Width and height from a PNG's IHDR, or undefined when the bytes are not a PNG. */
export function pngSize(bytes: Buffer): { width: number; height: number } | undefined {
  if (bytes.length < 24 || bytes.toString('latin1', 1, 4) !== 'PNG' || bytes.toString('latin1', 12, 16) !== 'IHDR') {
    return undefined;
  }
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}
