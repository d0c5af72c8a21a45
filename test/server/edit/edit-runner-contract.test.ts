/**
 * One contract suite for the EditRunner interface, run against the real runner (a worker thread
 * running the built-in model) and the scripted double the queue and app tests use, so the double
 * cannot drift from what it stands in for (Hono's router `common.case.test.ts` habit).
 */
import { createEditRunner } from '@pixels/server/edit/create-edit-runner.ts';
import { toEditFailure } from '@pixels/server/edit/edit-failure.ts';
import type { EditInputs, EditProgress, EditRunner, EditStart } from '@pixels/server/edit/edit-runner.ts';
import { DEFAULT_LIMITS, EditSettings } from '@pixels/shared';
import { describe, expect, it } from 'vitest';
import { TEST_MODELS_DIR } from '../http/live-server.ts';
import { discPng, gradientPng } from '../http/png-bytes.ts';
import { ScriptedEditRunner } from '../jobs/scripted-edit-runner.ts';

interface RunnerCase {
  name: string;
  /** A fresh runner; with `crashAtStep`, its first job's worker dies at that step. */
  create(options?: { crashAtStep?: number }): EditRunner;
}

const CASES: RunnerCase[] = [
  {
    name: 'the real runner (worker thread, built-in model)',
    create: ({ crashAtStep } = {}) =>
      createEditRunner({
        modelsDir: TEST_MODELS_DIR,
        device: 'cpu',
        intraOpThreads: 1,
        limits: DEFAULT_LIMITS,
        ...(crashAtStep ? { faultInjection: { kind: 'exit', atStep: crashAtStep, threads: 1 } } : {}),
      }),
  },
  {
    name: 'the scripted runner',
    create: ({ crashAtStep } = {}) => new ScriptedEditRunner(crashAtStep ? { crashAtStep } : {}),
  },
];

const STEPS = 4;
const INPUTS: EditInputs = { source: gradientPng(64, 64), exemplars: [discPng(64, 64)] };
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

const settings = (overrides: Partial<EditSettings> = {}) =>
  EditSettings.parse({ steps: STEPS, strength: 1, seed: 5, ...overrides });

/** Runs one job, recording what the runner reported on the way. */
async function runRecorded(
  runner: EditRunner,
  options: { settings?: EditSettings; inputs?: EditInputs; onProgress?: (progress: EditProgress) => void } = {},
  signal?: AbortSignal,
) {
  const starts: EditStart[] = [];
  const progress: EditProgress[] = [];
  const outcome = runner
    .run(options.settings ?? settings(), options.inputs ?? INPUTS, {
      signal,
      onStart: (start) => starts.push(start),
      onProgress: (report) => {
        progress.push(report);
        options.onProgress?.(report);
      },
    })
    .then(
      (value) => ({ value, error: undefined }),
      (error: unknown) => ({ value: undefined, error }),
    );
  return { starts, progress, ...(await outcome) };
}

/** Width and height from a PNG's IHDR chunk. */
function pngSize(png: Uint8Array): { width: number; height: number } {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

async function expectServesAnEdit(runner: EditRunner): Promise<void> {
  const next = await runRecorded(runner);
  expect(next.error).toBeUndefined();
  expect(next.progress.map((report) => report.step)).toEqual([1, 2, 3, 4]);
}

describe.each(CASES)('EditRunner contract: $name', ({ create }) => {
  const withRunner = async (test: (runner: EditRunner) => Promise<void>, options?: { crashAtStep?: number }) => {
    const runner = create(options);
    try {
      await test(runner);
    } finally {
      await runner.close();
    }
  };

  it('runs an edit: one start, every step in order, then a PNG with the seed used', () =>
    withRunner(async (runner) => {
      const { starts, progress, value, error } = await runRecorded(runner);
      expect(error).toBeUndefined();
      expect(starts).toHaveLength(1);
      expect(starts[0]).toMatchObject({ seed: 5, totalSteps: STEPS });
      expect(progress.map((report) => [report.step, report.totalSteps])).toEqual([
        [1, STEPS],
        [2, STEPS],
        [3, STEPS],
        [4, STEPS],
      ]);
      for (const [i, report] of progress.entries()) {
        expect(report.preview).toBeUndefined();
        if (i > 0) expect(report.elapsedMs).toBeGreaterThanOrEqual(progress[i - 1].elapsedMs);
      }
      expect(value?.seed).toBe(5);
      expect([...(value?.png.subarray(0, 8) ?? [])]).toEqual(PNG_SIGNATURE);
      expect(pngSize(value!.png)).toEqual({ width: value?.width, height: value?.height });
    }));

  it('sends a JPEG preview with every step when previews are on', () =>
    withRunner(async (runner) => {
      const { progress, error } = await runRecorded(runner, { settings: settings({ previews: true }) });
      expect(error).toBeUndefined();
      expect(progress).toHaveLength(STEPS);
      for (const report of progress) expect([...(report.preview?.subarray(0, 2) ?? [])]).toEqual([0xff, 0xd8]);
    }));

  it('stops a canceled edit between steps (canceled, by its owner) and takes the next job', () =>
    withRunner(async (runner) => {
      // The worker runs on while this thread takes step 2's report and posts the cancel, and a
      // step at 64² takes a millisecond or two: with 4 steps, a busy CI machine let the job finish
      // before the cancel arrived. A long job makes "stopped before the end" the thing tested.
      const steps = 40;
      const controller = new AbortController();
      const canceled = await runRecorded(
        runner,
        { settings: settings({ steps }), onProgress: (report) => report.step === 2 && controller.abort() },
        controller.signal,
      );
      expect(toEditFailure(canceled.error)).toMatchObject({ code: 'canceled', reason: 'owner' });
      expect(canceled.value).toBeUndefined();
      expect(canceled.progress.length).toBeGreaterThanOrEqual(2);
      expect(canceled.progress.length).toBeLessThan(steps);
      await expectServesAnEdit(runner);
    }));

  it('fails bad input with the problem named (bad_input, no server internals) and takes the next job', () =>
    withRunner(async (runner) => {
      const bad = await runRecorded(runner, { inputs: { ...INPUTS, source: new Uint8Array([1, 2, 3, 4]) } });
      const failure = toEditFailure(bad.error);
      expect(failure).toMatchObject({ code: 'invalid_image', reason: 'bad_input', field: 'source' });
      expect(failure.message).toMatch(/^The source image /);
      expect(failure.message).not.toMatch(/\/|node_modules|sharp/);
      expect(bad.starts).toEqual([]);
      await expectServesAnEdit(runner);
    }));

  it('fails a job whose worker dies mid-job with worker_lost, then serves the next one', () =>
    withRunner(
      async (runner) => {
        const lost = await runRecorded(runner);
        expect(toEditFailure(lost.error)).toMatchObject({ code: 'worker_lost', reason: 'worker_lost' });
        expect(lost.progress.map((report) => report.step)).toEqual([1]);
        await expectServesAnEdit(runner);
      },
      { crashAtStep: 2 },
    ));
});
