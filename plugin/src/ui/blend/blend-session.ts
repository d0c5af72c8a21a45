import type { EditSettings, JobEvent } from '@pixels/shared';
import { shapeMapReach } from '../../common/export-sizing.ts';
import type { BlendTimings, ComposeParts } from '../../messages/blend-timings.ts';
import type { JobLayers, PendingJob, PlacementBox } from '../../messages/job-records.ts';
import type { PanelSettings } from '../../messages/panel-settings.ts';
import { ApiError, isAbort } from '../api/api-error.ts';
import type { PixelsClient } from '../api/pixels-client.ts';
import type { MainBridge } from '../bridge.ts';
import type { DecodeImage } from './compose-layers.ts';
import { fitResult } from './fit-result.ts';
import { followJob } from './follow-job.ts';
import { isActive, type JobView, type Problem, type SessionView } from './job-view.ts';
import { prepareUpload } from './prepare-upload.ts';
import { requestSettings } from './request-settings.ts';

export interface BlendSessionDeps {
  bridge: Pick<MainBridge, 'exportLayers' | 'placeResult' | 'send'>;
  /** A client for a server URL (resumed jobs may live on a server other than the current one). */
  clientFor(serverUrl: string): PixelsClient;
  decode: DecodeImage;
  onChange(view: SessionView): void;
  /** Turns a failure into a problem the designer can act on (see panel/problems.ts). */
  problemOf?: (error: unknown) => Problem;
  now?: () => number;
}

/** What a blend knows beyond the settings. */
export interface BlendOptions {
  /** Whether the model reads prompts (the result's name leaves an ignored prompt out). */
  promptUsed: boolean;
}

function plainProblem(error: unknown): Problem {
  if (error instanceof ApiError) return { message: error.message, advice: error.advice };
  return { message: (error as Error).message ?? String(error), advice: 'Fix what the message says and blend again.' };
}

/** Steps a job runs: the last floor(steps × strength) of the schedule (one pass per exemplar when iterative). */
function stepsRun(settings: EditSettings, exemplars: number): number {
  const perPass = Math.floor(settings.steps * settings.strength);
  return settings.exemplarMode === 'iterative' ? perPass * Math.max(1, exemplars) : perPass;
}

/** What a job needs to be followed and placed. */
interface JobContext extends JobLayers {
  client: PixelsClient;
  jobId: string;
  settings: EditSettings;
  width: number;
  height: number;
  /** Where over the source the result goes, when only a region was sent. */
  box?: PlacementBox;
  /** Present for blends started in this panel; resumed jobs have no plugin-side timings. */
  timing?: { startedAt: number; exportMs: number; composeMs: number; composeParts: ComposeParts; uploadMs: number };
  batchId?: string;
  variation?: number;
  promptUsed?: boolean;
}

/**
 * One click of "Blend exemplar": export the selection, composite it in the source's frame, build
 * the edit map, submit one job per variation, follow their progress and place each result. Also
 * picks up jobs left pending when the plugin was closed. Cancel stops everything it started.
 */
export class BlendSession {
  private readonly controller = new AbortController();
  private readonly view: SessionView = { phase: 'idle', jobs: [], notes: [] };
  private readonly now: () => number;
  private readonly problemOf: (error: unknown) => Problem;

  constructor(private readonly deps: BlendSessionDeps) {
    this.now = deps.now ?? (() => performance.now());
    this.problemOf = deps.problemOf ?? plainProblem;
  }

  /** Whether Cancel was clicked. */
  get canceled(): boolean {
    return this.controller.signal.aborted;
  }

  /**
   * Exporting, compositing or uploading: the main thread, the CPU and the connection are busy
   * with this blend's layers (work that can wait, such as the map preview, waits for it).
   */
  get isPreparing(): boolean {
    return (
      this.view.phase === 'exporting' ||
      this.view.phase === 'preparing' ||
      (this.view.phase === 'running' && this.view.jobs.some((job) => job.phase === 'uploading'))
    );
  }

  get isRunning(): boolean {
    return this.view.phase === 'exporting' || this.view.phase === 'preparing' || this.view.phase === 'running';
  }

  async start(panel: PanelSettings, client: PixelsClient, options: BlendOptions = { promptUsed: true }): Promise<void> {
    const signal = this.controller.signal;
    const batchId = `batch-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    const startedAt = this.now();
    try {
      // The request goes out before the panel redraws, so the main thread starts exporting at once.
      const exported = this.deps.bridge.exportLayers(panel.workingSize, {
        spreadPx: shapeMapReach(panel.edit.grow, panel.edit.feather),
        invertMap: panel.edit.invertMap,
      });
      // The blend is exporting from now on (a second click finds it running), but the panel
      // redraws in a task of its own: a frame's message to its parent is handled only after the
      // task that posted it and the redraw and layout that follow it (a few milliseconds).
      this.view.phase = 'exporting';
      setTimeout(() => {
        if (this.view.phase === 'exporting') this.emit();
      }, 0);
      const layers = await exported;
      // The parts are contiguous: the panel's redraws between them are counted with the part they follow.
      const exportEnd = this.now();
      const exportMs = exportEnd - startedAt;
      if (signal.aborted) return;
      this.update({ phase: 'preparing', notes: layers.notes });

      const prepared = await prepareUpload(
        layers,
        { grow: panel.edit.grow, feather: panel.edit.feather, falloff: panel.falloff, invert: panel.edit.invertMap },
        this.deps.decode,
        this.now,
      );
      if (signal.aborted) return;
      this.update({ phase: 'running' });
      const composeMs = this.now() - exportEnd;
      const ids: JobLayers = {
        sourceId: layers.source.id,
        exemplarIds: layers.exemplars.map((layer) => layer.id),
        ...(layers.map ? { mapId: layers.map.id } : {}),
      };
      const followers: Promise<void>[] = [];
      for (let variation = 0; variation < panel.variations && !signal.aborted; variation++) {
        const uploadStart = this.now();
        const settings = requestSettings(panel, variation, prepared.mapOrigin);
        const job = this.addJob(
          panel.variations > 1 ? `Variation ${variation + 1} of ${panel.variations}` : 'Blend',
          stepsRun(settings, layers.exemplars.length),
        );
        try {
          const submitted = await client.submit(settings, prepared.upload, signal);
          const uploadMs = this.now() - uploadStart;
          this.patchJob(job, {
            jobId: submitted.id,
            phase: submitted.state === 'running' ? 'running' : 'queued',
            position: submitted.position,
          });
          const pending: PendingJob = {
            jobId: submitted.id,
            serverUrl: client.serverUrl,
            ...ids,
            settings,
            width: prepared.width,
            height: prepared.height,
            ...(prepared.box ? { box: prepared.box } : {}),
            submittedAt: new Date().toISOString(),
            promptUsed: options.promptUsed,
          };
          this.deps.bridge.send({ type: 'job-submitted', job: pending });
          const context: JobContext = {
            ...pending,
            client,
            timing: { startedAt, exportMs, composeMs, composeParts: prepared.parts, uploadMs },
            batchId,
            variation,
            promptUsed: options.promptUsed,
          };
          followers.push(this.runJob(job, context));
        } catch (error) {
          if (isAbort(error)) break;
          this.patchJob(job, { phase: 'failed', problem: this.problemOf(error) });
          break;
        }
      }
      await Promise.all(followers);
    } catch (error) {
      if (!isAbort(error)) this.update({ problem: this.problemOf(error) });
    } finally {
      this.update({ phase: 'finished' });
    }
  }

  /** Follows and places jobs submitted before the plugin was last closed. */
  async resume(jobs: readonly PendingJob[]): Promise<void> {
    this.update({ phase: 'running' });
    await Promise.all(
      jobs.map((pending) => {
        const job = this.addJob(
          'Job from before the plugin closed',
          stepsRun(pending.settings, pending.exemplarIds.length),
        );
        this.patchJob(job, { jobId: pending.jobId, phase: 'queued' });
        try {
          return this.runJob(job, { ...pending, client: this.deps.clientFor(pending.serverUrl) });
        } catch (error) {
          this.patchJob(job, { phase: 'failed', problem: this.problemOf(error) });
          return Promise.resolve();
        }
      }),
    );
    this.update({ phase: 'finished' });
  }

  /** Stops the blend: aborts requests, asks the server to cancel every unfinished job. */
  async cancel(): Promise<void> {
    this.controller.abort();
    await Promise.all(
      this.view.jobs.map(async (job) => {
        if (!isActive(job.phase) || job.phase === 'placing') return;
        if (job.jobId) {
          const client = this.jobClients.get(job.key);
          await client?.cancel(job.jobId).catch(() => undefined);
          this.deps.bridge.send({ type: 'job-ended', jobId: job.jobId });
        }
        this.patchJob(job, { phase: 'canceled' });
      }),
    );
    this.update({ phase: 'finished' });
  }

  private readonly jobClients = new Map<string, PixelsClient>();

  private async runJob(job: JobView, context: JobContext): Promise<void> {
    const signal = this.controller.signal;
    this.jobClients.set(job.key, context.client);
    const expectedSize = { width: context.width, height: context.height };
    const serverStart = this.now();
    let seed = context.settings.seed;
    let runMs: number | undefined;
    let runSteps: number | undefined;
    // The download starts as the 'done' event is read, before the stream is closed and the panel redraws.
    let download: { startedAt: number; bytes: Promise<Uint8Array> } | undefined;
    try {
      const terminal = await followJob(
        context.client,
        context.jobId,
        (event) => {
          if (event.type === 'started') {
            seed = event.seed;
            runSteps = event.totalSteps;
          }
          if (event.type === 'step') runMs = event.elapsedMs;
          if (event.type === 'done') download = this.startDownload(context.client, event.resultUrl, signal);
          this.applyEvent(job, event);
        },
        { signal, expectedSize },
      );
      const serverEnd = download?.startedAt ?? this.now();
      const serverMs = serverEnd - serverStart;
      if (terminal.type !== 'done') {
        const problem =
          terminal.type === 'failed'
            ? this.problemOf(new ApiError(terminal.error.code, terminal.error.message))
            : undefined;
        this.patchJob(job, {
          phase: terminal.type === 'failed' ? 'failed' : 'canceled',
          ...(problem ? { problem } : {}),
        });
        this.deps.bridge.send({ type: 'job-ended', jobId: context.jobId });
        return;
      }
      if (seed === undefined) seed = (await context.client.job(context.jobId, signal)).seed;
      if (seed === undefined)
        throw new ApiError('protocol', 'The server finished the job without saying which seed it used.');

      download ??= this.startDownload(context.client, terminal.resultUrl, signal);
      this.patchJob(job, { phase: 'downloading', seed });
      const bytes = await download.bytes;
      const downloadEnd = this.now();
      const downloadMs = downloadEnd - serverEnd;
      const fitted = await fitResult(bytes, expectedSize, this.deps.decode);

      this.patchJob(job, { phase: 'placing', notes: fitted.notes });
      const decodeMs = this.now() - downloadEnd;
      const timings: BlendTimings | undefined = context.timing && {
        exportMs: context.timing.exportMs,
        composeMs: context.timing.composeMs,
        composeParts: context.timing.composeParts,
        uploadMs: context.timing.uploadMs,
        serverMs,
        downloadMs,
        decodeMs,
        totalMs: this.now() - context.timing.startedAt,
      };
      const placed = await this.deps.bridge
        .placeResult({
          jobId: context.jobId,
          serverUrl: context.client.serverUrl,
          png: fitted.png,
          width: fitted.width,
          height: fitted.height,
          ...(context.box ? { box: context.box } : {}),
          settings: context.settings,
          seed,
          sourceId: context.sourceId,
          exemplarIds: context.exemplarIds,
          ...(context.mapId ? { mapId: context.mapId } : {}),
          notes: fitted.notes,
          ...(timings ? { timings } : {}),
          ...(context.batchId ? { batchId: context.batchId } : {}),
          ...(context.variation !== undefined ? { variation: context.variation } : {}),
          ...(runMs !== undefined && runSteps !== undefined ? { runMs, runSteps } : {}),
          promptUsed: context.promptUsed ?? true,
        })
        .catch((error: Error) => {
          this.deps.bridge.send({ type: 'job-ended', jobId: context.jobId });
          throw new Error(`The result could not be placed: ${error.message}`);
        });
      this.patchJob(job, {
        phase: 'placed',
        resultName: placed.name,
        nodeId: placed.nodeId,
        ...(timings ? { timings } : {}),
      });
    } catch (error) {
      if (signal.aborted || isAbort(error)) return;
      if (error instanceof ApiError && error.code === 'not_found')
        this.deps.bridge.send({ type: 'job-ended', jobId: context.jobId });
      this.patchJob(job, { phase: 'failed', problem: this.problemOf(error) });
    }
  }

  private startDownload(
    client: PixelsClient,
    resultUrl: string,
    signal: AbortSignal,
  ): { startedAt: number; bytes: Promise<Uint8Array> } {
    const startedAt = this.now();
    const bytes = client.result(resultUrl, signal);
    // Awaited once the job's end is handled; a failure meanwhile is not an unhandled rejection.
    bytes.catch(() => undefined);
    return { startedAt, bytes };
  }

  private applyEvent(job: JobView, event: JobEvent): void {
    switch (event.type) {
      case 'queued':
        this.patchJob(job, { phase: 'queued', position: event.position });
        return;
      case 'started':
        this.patchJob(job, {
          phase: 'running',
          seed: event.seed,
          step: 0,
          totalSteps: event.totalSteps,
          // The server's warnings about this run (a map quantised by few steps...) go with its notes.
          notes: [...job.notes, ...(event.warnings ?? [])],
        });
        return;
      case 'step':
        this.patchJob(job, {
          phase: 'running',
          step: event.step,
          totalSteps: event.totalSteps,
          elapsedMs: event.elapsedMs,
          ...(event.preview ? { preview: `data:image/jpeg;base64,${event.preview}` } : {}),
        });
        return;
      default:
        return;
    }
  }

  private addJob(label: string, expectedSteps: number): JobView {
    const job: JobView = {
      key: `job-${this.view.jobs.length + 1}`,
      label,
      phase: 'uploading',
      notes: [],
      expectedSteps,
    };
    this.view.jobs.push(job);
    this.emit();
    return job;
  }

  private patchJob(job: JobView, patch: Partial<JobView>): void {
    Object.assign(job, patch);
    this.emit();
  }

  private update(patch: Partial<SessionView>): void {
    Object.assign(this.view, patch);
    this.emit();
  }

  private emit(): void {
    this.deps.onChange({ ...this.view, jobs: this.view.jobs.map((job) => ({ ...job })) });
  }
}
