import { describe, expect, it } from 'vitest';
import type { JobView, SessionView } from '../../../../plugin/src/ui/blend/job-view.ts';
import { describeJob, estimateWaitMs, formatWait, summarizeRun } from '../../../../plugin/src/ui/panel/jobs-view.ts';

const job = (patch: Partial<JobView>): JobView => ({
  key: 'job-1',
  label: 'Blend',
  phase: 'queued',
  notes: [],
  expectedSteps: 12,
  ...patch,
});
const view = (jobs: JobView[], phase: SessionView['phase'] = 'running'): SessionView => ({ phase, jobs, notes: [] });

describe('the footer summary of a blend', () => {
  it('queued: place in line and the expected wait from recent step times, with a moving (indeterminate) bar', () => {
    const queued = job({ position: 2 });
    expect(estimateWaitMs(queued, { msPerStep: 500, workers: 1 })).toBe(12_000);
    expect(estimateWaitMs(queued, { msPerStep: 500, workers: 2 })).toBe(6_000);
    expect(describeJob(queued, { msPerStep: 500, workers: 1 })).toBe('Queued: 2nd in line · about 10 s');
    expect(describeJob(queued, { workers: 1 })).toBe('Queued: 2nd in line · wait not known yet');
    const summary = summarizeRun(view([queued]), { workers: 1 });
    expect(summary).toMatchObject({ running: true, progress: undefined, showBar: true });
    expect(formatWait(150_000)).toBe('about 3 min');
  });

  it('running variations: the lead job, how many more, and the mean progress', () => {
    const summary = summarizeRun(
      view([
        job({ label: 'Variation 1 of 2', phase: 'running', step: 6, totalSteps: 12 }),
        job({ key: 'job-2', label: 'Variation 2 of 2', position: 1 }),
      ]),
      { workers: 1 },
    );
    expect(summary.text).toBe('Variation 1 of 2: Step 6 of 12 · 1 more');
    expect(summary.progress).toBeCloseTo((0.05 + 0.85 * 0.5) / 2);
  });

  it('canceled: no bar left behind, and it says so', () => {
    const summary = summarizeRun(view([job({ phase: 'canceled', step: 6, totalSteps: 12 })], 'finished'), {
      workers: 1,
    });
    expect(summary).toEqual({ running: false, text: 'Canceled.', progress: 0, showBar: false });
  });
});
