import { EditFailed } from '@pixels/server/edit/edit-failure.ts';
import type { DeviceReport, EditInputs, EditOutcome, EditRunner, RunOptions } from '@pixels/server/edit/edit-runner.ts';
import { probeImage } from '@pixels/server/images/probe.ts';
import { DEFAULT_LIMITS, type EditSettings, type ModelSummary, PixelsError } from '@pixels/shared';
import { encodePng } from '../http/png-bytes.ts';

/**
 * A test double of the EditRunner contract for the queue's and the app's unit tests: it checks the
 * source's header as the real pipeline does, reports `settings.steps` steps, each `stepMs` long (or
 * held until `release()` when `holdSteps` is set), honours the abort signal between steps as the
 * real runner does, and returns a small PNG. test/server/edit/edit-runner-contract.test.ts holds it
 * to the real runner's contract; end-to-end tests use the real runner instead.
 */
export class ScriptedEditRunner implements EditRunner {
  /** The settings of each run, in the order runs started. */
  readonly started: EditSettings[] = [];
  closed = false;
  /** How many times probe() was called. */
  probes = 0;
  isAlive = true;
  private waiters: (() => void)[] = [];
  private hasCrashed = false;

  constructor(
    private readonly options: {
      stepMs?: number;
      /** Each step waits for `release()` instead of a timer. */
      holdSteps?: boolean;
      /** Throw this instead of finishing (after the first step). */
      failWith?: (settings: EditSettings) => Error | undefined;
      /** What probe() reports (default a CPU device), or the error it rejects with; a function is asked at each probe. */
      probe?: DeviceReport | Error | (() => DeviceReport | Error);
      /** The finished PNG (default a small one). */
      result?: Uint8Array;
      /** The first job to reach this step fails as a job whose worker thread died (the real runner's fault injection). */
      crashAtStep?: number;
    } = {},
  ) {}

  /** Lets every held step proceed by one. */
  release(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  get heldSteps(): number {
    return this.waiters.length;
  }

  async run(settings: EditSettings, inputs: EditInputs, options: RunOptions = {}): Promise<EditOutcome> {
    this.started.push(settings);
    await probeImage(inputs.source, 'source', DEFAULT_LIMITS.maxPixels);
    const began = performance.now();
    const seed = settings.seed ?? 1234;
    const totalSteps = settings.steps;
    options.onStart?.({
      seed,
      totalSteps,
      width: 64,
      height: 64,
      crop: { left: 0, top: 0, width: 64, height: 64 },
      warnings: [],
      notes: [],
    });
    for (let step = 1; step <= totalSteps; step++) {
      await this.wait(options.signal);
      if (options.signal?.aborted) throw new PixelsError('canceled', 'The edit was canceled.');
      const failure = this.options.failWith?.(settings);
      if (failure) throw failure;
      if (step === this.options.crashAtStep && !this.hasCrashed) {
        this.hasCrashed = true;
        throw new EditFailed({
          code: 'worker_lost',
          message: 'The worker thread running this edit died (scripted) and was restarted; resend the edit.',
          reason: 'worker_lost',
          detail: 'scripted crash',
        });
      }
      options.onProgress?.({
        step,
        totalSteps,
        elapsedMs: performance.now() - began,
        ...(settings.previews ? { preview: new Uint8Array([0xff, 0xd8, 0xff, 0xd9]) } : {}),
      });
    }
    return {
      // A copy per run, as a worker transfers a fresh buffer each time.
      png: this.options.result ? this.options.result.slice() : encodePng(8, 8),
      width: 8,
      height: 8,
      seed,
      engineMs: performance.now() - began,
    };
  }

  async listModels(): Promise<ModelSummary[]> {
    return [
      {
        name: 'builtin',
        family: 'builtin',
        nativeSize: 512,
        sizeMultiple: 8,
        vaeScaleFactor: 8,
        dtype: 'float32',
        scheduler: 'ddim',
        defaultGuidance: 1,
        usesPrompt: false,
        description: 'test double',
        parts: {},
      },
    ];
  }

  async probe(): Promise<DeviceReport> {
    this.probes++;
    const option = this.options.probe ?? { device: 'cpu', providers: 'cpu', reason: 'test double' };
    const outcome = typeof option === 'function' ? option() : option;
    if (outcome instanceof Error) throw outcome;
    return outcome;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** One step's work; an abort ends a held step early, as a real step ends and the runner then looks at the signal. */
  private wait(signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      if (this.options.holdSteps) this.waiters.push(resolve);
      else setTimeout(resolve, this.options.stepMs ?? 2);
      signal?.addEventListener(
        'abort',
        () => {
          this.waiters = this.waiters.filter((waiter) => waiter !== resolve);
          resolve();
        },
        { once: true },
      );
    });
  }
}
