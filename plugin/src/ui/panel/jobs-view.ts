import { isActive, type JobView, type SessionView } from '../blend/job-view.ts';
import { element } from './elements.ts';

function ordinal(position: number): string {
  const suffix =
    position % 100 >= 11 && position % 100 <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][position % 10] ?? 'th');
  return `${position}${suffix}`;
}

/** How long a queue is expected to take, from how fast recent jobs ran. */
export interface WaitEstimate {
  /** Server milliseconds per step, from a job running now or the history; undefined = not known yet. */
  msPerStep?: number;
  /** Jobs the server runs at once. */
  workers: number;
}

/** Milliseconds until a queued job starts: the jobs ahead of it (and the one running) at its own size. */
export function estimateWaitMs(job: JobView, estimate: WaitEstimate): number | undefined {
  if (job.phase !== 'queued' || !job.position || estimate.msPerStep === undefined) return undefined;
  return (job.position * Math.max(1, job.expectedSteps) * estimate.msPerStep) / Math.max(1, estimate.workers);
}

export function formatWait(ms: number): string {
  const seconds = ms / 1000;
  if (seconds < 60) return `about ${Math.max(5, Math.round(seconds / 5) * 5)} s`;
  return `about ${Math.round(seconds / 60)} min`;
}

/** The one-line status of a job, in plain words. */
export function describeJob(job: JobView, estimate: WaitEstimate = { workers: 1 }): string {
  switch (job.phase) {
    case 'uploading':
      return 'Uploading…';
    case 'queued': {
      if (!job.position) return 'Queued';
      const wait = estimateWaitMs(job, estimate);
      return `Queued: ${ordinal(job.position)} in line · ${wait === undefined ? 'wait not known yet' : formatWait(wait)}`;
    }
    case 'running':
      return job.totalSteps ? `Step ${job.step ?? 0} of ${job.totalSteps}` : 'Starting…';
    case 'downloading':
      return 'Downloading the result…';
    case 'placing':
      return 'Placing the result…';
    case 'placed':
      return 'Placed on the canvas';
    case 'failed':
      return 'Failed';
    case 'canceled':
      return 'Canceled';
  }
}

/** How far along a job is, 0..1; undefined while it waits (its bar then moves without a value). */
export function progressOf(job: JobView): number | undefined {
  switch (job.phase) {
    case 'uploading':
    case 'queued':
      return undefined;
    case 'running':
      return 0.05 + (job.totalSteps ? (0.85 * (job.step ?? 0)) / job.totalSteps : 0);
    case 'downloading':
      return 0.92;
    case 'placing':
      return 0.97;
    case 'placed':
      return 1;
    case 'failed':
    case 'canceled':
      return 0;
  }
}

/** Fills a progress bar: a value, or a moving indeterminate bar when `progress` is undefined. */
export function setProgress(bar: HTMLElement, fill: HTMLElement, progress: number | undefined): void {
  if (progress === undefined) {
    bar.dataset.indeterminate = 'true';
    bar.removeAttribute('aria-valuenow');
    fill.style.width = '';
    return;
  }
  delete bar.dataset.indeterminate;
  bar.setAttribute('aria-valuenow', String(Math.round(progress * 100)));
  fill.style.width = `${(progress * 100).toFixed(1)}%`;
}

/** What the footer says about a blend: one line, one bar. */
export interface RunSummary {
  running: boolean;
  text: string;
  /** undefined: indeterminate. */
  progress: number | undefined;
  /** Hide the bar (nothing running, or canceled: a half-filled bar would read as paused). */
  showBar: boolean;
}

export function summarizeRun(view: SessionView, estimate: WaitEstimate): RunSummary {
  if (view.phase === 'exporting')
    return { running: true, text: 'Exporting the layers…', progress: undefined, showBar: true };
  if (view.phase === 'preparing')
    return { running: true, text: 'Compositing the layers in the source frame…', progress: undefined, showBar: true };
  const active = view.jobs.filter((job) => isActive(job.phase));
  if (active.length > 0) {
    const lead = active.find((job) => job.phase !== 'queued' && job.phase !== 'uploading') ?? active[0];
    const others = active.length - 1;
    const text = `${view.jobs.length > 1 ? `${lead.label}: ` : ''}${describeJob(lead, estimate)}${others > 0 ? ` · ${others} more` : ''}`;
    const values = active.map(progressOf);
    const known = values.filter((value): value is number => value !== undefined);
    const progress = known.length === 0 ? undefined : known.reduce((sum, value) => sum + value, 0) / active.length;
    return { running: true, text, progress, showBar: true };
  }
  if (view.phase === 'running') return { running: true, text: 'Starting…', progress: undefined, showBar: true };
  const placed = view.jobs.filter((job) => job.phase === 'placed').length;
  const canceled = view.jobs.some((job) => job.phase === 'canceled');
  const failed = view.jobs.filter((job) => job.phase === 'failed').length;
  const parts: string[] = [];
  if (placed > 0) parts.push(placed === 1 ? 'Placed the result over the source.' : `Placed ${placed} results.`);
  if (failed > 0) parts.push(failed === 1 ? 'One job failed.' : `${failed} jobs failed.`);
  if (canceled) parts.push('Canceled.');
  return { running: false, text: parts.join(' '), progress: 0, showBar: false };
}

/** The jobs of the running blend as tiles (step preview, bar, status) at the top of the history. */
export function runningBatch(
  document: Document,
  view: SessionView,
  estimate: WaitEstimate,
  /** Result layers placed that the history does not list yet: their jobs' tiles stay until it does. */
  placedUnlisted: ReadonlySet<string> = new Set(),
): HTMLLIElement | undefined {
  const active = view.jobs.filter(
    (job) =>
      isActive(job.phase) || (job.phase === 'placed' && job.nodeId !== undefined && placedUnlisted.has(job.nodeId)),
  );
  if (active.length === 0) return undefined;
  const batch = element(document, 'li', { class: 'history-batch', 'data-running': 'true' });
  const head = element(document, 'div', { class: 'batch-head' });
  head.append(element(document, 'span', { class: 'batch-settings' }, 'In progress'));
  const tiles = element(document, 'div', { class: 'tiles' });
  for (const job of active) {
    const tile = element(document, 'div', {
      class: 'tile job',
      'data-phase': job.phase,
      'data-key': job.key,
      ...(job.jobId ? { 'data-job-id': job.jobId } : {}),
    });
    if (job.preview)
      tile.append(
        element(document, 'img', {
          class: 'tile-image job-preview',
          src: job.preview,
          alt: `Step preview of ${job.label}`,
        }),
      );
    else tile.append(element(document, 'div', { class: 'tile-image', 'aria-hidden': 'true' }));
    const bar = element(document, 'div', {
      class: 'progress',
      role: 'progressbar',
      'aria-label': `Progress of ${job.label}`,
      'aria-valuemin': '0',
      'aria-valuemax': '100',
    });
    const fill = element(document, 'div', { class: 'progress-bar' });
    bar.append(fill);
    setProgress(bar, fill, progressOf(job));
    tile.append(
      bar,
      element(
        document,
        'span',
        { class: 'tile-caption job-status', title: describeJob(job, estimate) },
        describeJob(job, estimate),
      ),
    );
    tiles.append(tile);
  }
  batch.append(head, tiles);
  return batch;
}
