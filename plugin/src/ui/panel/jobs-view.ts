import { isActive, type JobView, type SessionView } from '../blend/job-view.ts';
import { element, type PanelElements } from './elements.ts';

function ordinal(position: number): string {
  const suffix =
    position % 100 >= 11 && position % 100 <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][position % 10] ?? 'th');
  return `${position}${suffix}`;
}

/** The one-line status of a job, in plain words. */
export function describeJob(job: JobView): string {
  switch (job.phase) {
    case 'uploading':
      return 'Uploading…';
    case 'queued':
      return job.position ? `Queued: ${ordinal(job.position)} in line` : 'Queued';
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

/** How far along a job is, 0..1, for its progress bar. */
export function progressOf(job: JobView): number {
  switch (job.phase) {
    case 'uploading':
      return 0.02;
    case 'queued':
      return 0.05;
    case 'running':
      return 0.05 + (job.totalSteps ? (0.85 * (job.step ?? 0)) / job.totalSteps : 0);
    case 'downloading':
      return 0.92;
    case 'placing':
      return 0.97;
    case 'placed':
      return 1;
    default:
      return job.totalSteps ? 0.05 + (0.85 * (job.step ?? 0)) / job.totalSteps : 0;
  }
}

export interface JobHandlers {
  useSeed(seed: number): void;
}

/** Progress bars, previews, seeds, problems and notes of the current blend. */
export function renderSession(elements: PanelElements, view: SessionView, handlers: JobHandlers): void {
  const document = elements.jobs.ownerDocument;
  elements.jobs.replaceChildren(...view.jobs.map((job) => jobItem(document, job, handlers)));
  const running =
    view.phase === 'exporting' || view.phase === 'preparing' || view.jobs.some((job) => isActive(job.phase));
  elements.cancel.hidden = !running;
  elements.problem.hidden = !view.problem;
  elements.problemMessage.textContent = view.problem?.message ?? '';
  elements.problemAdvice.textContent = view.problem?.advice ?? '';
  const notes = [...view.notes, ...view.jobs.flatMap((job) => job.notes)];
  elements.notes.replaceChildren(
    ...[...new Set(notes)].map((note) => element(document, 'li', { class: 'note' }, note)),
  );
  if (view.phase === 'exporting') elements.blendBlocker.textContent = 'Exporting the layers…';
  else if (view.phase === 'preparing')
    elements.blendBlocker.textContent = 'Compositing the layers in the source frame…';
  else if (view.phase === 'running') elements.blendBlocker.textContent = '';
}

function jobItem(document: Document, job: JobView, handlers: JobHandlers): HTMLLIElement {
  const item = element(document, 'li', { class: 'job', 'data-phase': job.phase, 'data-key': job.key });
  if (job.jobId) item.dataset.jobId = job.jobId;
  const head = element(document, 'div', { class: 'job-head' });
  head.append(
    element(document, 'span', { class: 'job-label' }, job.label),
    element(document, 'span', { class: 'job-status' }, describeJob(job)),
  );
  const progress = element(document, 'div', {
    class: 'progress',
    role: 'progressbar',
    'aria-valuemin': '0',
    'aria-valuemax': '100',
    'aria-valuenow': String(Math.round(progressOf(job) * 100)),
  });
  const bar = element(document, 'div', { class: 'progress-bar' });
  bar.style.width = `${(progressOf(job) * 100).toFixed(1)}%`;
  progress.append(bar);
  item.append(head, progress);
  if (job.preview && isActive(job.phase))
    item.append(element(document, 'img', { class: 'job-preview', src: job.preview, alt: 'Step preview' }));
  if (job.seed !== undefined) {
    const seed = element(document, 'div', { class: 'job-seed' }, `Seed ${job.seed} `);
    const reuse = element(document, 'button', { class: 'link', type: 'button' }, 'Use this seed');
    reuse.addEventListener('click', () => handlers.useSeed(job.seed!));
    seed.append(reuse);
    item.append(seed);
  }
  if (job.resultName) item.append(element(document, 'div', { class: 'job-seed' }, job.resultName));
  if (job.problem) {
    const problem = element(document, 'div', { class: 'job-problem' }, job.problem.message);
    problem.append(element(document, 'div', { class: 'advice' }, job.problem.advice));
    item.append(problem);
  }
  return item;
}
