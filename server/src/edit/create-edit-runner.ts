import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { type ResourceLimits, Worker } from 'node:worker_threads';
import { type EditSettings, type ModelSummary, PixelsError } from '@pixels/shared';
import type { Device, DeviceSpec } from '../models/devices.ts';
import { type Logger, silentLogger } from '../observability/logger.ts';
import { EditFailed, type EditFailure } from './edit-failure.ts';
import type { PipelineLimits } from './edit-pipeline.ts';
import type { DeviceReport, EditInputs, EditOutcome, EditRunner, RunOptions } from './edit-runner.ts';
import type { FaultInjection, FromWorker, ToWorker, WorkerConfig } from './worker-protocol.ts';

export interface EditRunnerOptions {
  modelsDir: string;
  /** onnxruntime execution providers in order of preference. Default ['cpu']. */
  providers?: string[];
  /** auto | cpu | cuda | cuda:N | webgpu; when set, replaces `providers` (see models/execution-providers.ts). */
  device?: Device | DeviceSpec;
  /** The flag the device came from, named in errors. Default `--device` (pixels edit); the server passes `--devices`. */
  deviceFlag?: string;
  /** Threads per operator. Default: every core. */
  intraOpThreads?: number;
  maxResidentModels?: number;
  /** The request limits the pipeline checks again (the CLI has no HTTP layer in front). */
  limits: PipelineLimits;
  /**
   * V8 heap limits of the worker thread: over them the thread dies with an out-of-memory error
   * (reported as such) instead of taking the process down. Tensors live outside this heap.
   */
  resourceLimits?: ResourceLimits;
  /**
   * How many nice levels below its creator the worker thread (and the onnxruntime threads it
   * starts) runs, so the HTTP thread gets a core first (Linux only; see util/thread-priority.ts).
   * Default 0: the CLI's one edit has no HTTP thread to yield to.
   */
  niceLevels?: number;
  logger?: Logger;
  /** Tests only: kill the thread mid-job (see FaultInjection). */
  faultInjection?: FaultInjection;
}

interface PendingJob {
  resolve: (outcome: EditOutcome) => void;
  reject: (error: Error) => void;
  options: RunOptions;
}

/** The source tree runs through tsx (the entry registers it in the worker); a bundled build runs plain JavaScript. */
const workerUrl = new URL(
  import.meta.url.endsWith('.ts') ? './edit-worker-entry.mjs' : './edit-worker.js',
  import.meta.url,
);

/** Deaths closer together than this count as a crash loop, and the restart waits longer each time. */
const CRASH_WINDOW_MS = 60_000;
const MAX_RESTART_DELAY_MS = 30_000;

/**
 * One supervised worker thread that owns the models of one device. The job queue hands it one
 * job at a time. A thread that dies (a native fault, out of memory, an exit) fails the job in
 * hand with `worker_lost` or `out_of_memory` and is replaced; the next job runs on the new
 * thread. `isAlive` is false while no thread is up (readiness).
 */
export function createEditRunner(options: EditRunnerOptions): EditRunner {
  const logger = options.logger ?? silentLogger;
  const baseConfig: Omit<WorkerConfig, 'generation'> = {
    modelsDir: options.modelsDir,
    providers: options.providers ?? ['cpu'],
    ...(options.device ? { device: options.device } : {}),
    ...(options.deviceFlag ? { deviceFlag: options.deviceFlag } : {}),
    intraOpThreads: options.intraOpThreads ?? availableParallelism(),
    maxResidentModels: options.maxResidentModels ?? 1,
    limits: options.limits,
    niceLevels: options.niceLevels ?? 0,
    ...(options.faultInjection ? { faultInjection: options.faultInjection } : {}),
  };
  const modelRequests = new Map<
    number,
    { resolve: (models: ModelSummary[]) => void; reject: (error: Error) => void }
  >();
  const probeRequests = new Map<number, { resolve: (device: DeviceReport) => void; reject: (error: Error) => void }>();
  /** Settles when the job in hand ends: a probe loads the built-in model, which must not evict a model an edit is using. */
  let jobEnded: Promise<unknown> = Promise.resolve();
  /** Settles when the probe in flight ends, for the same reason the other way round. */
  let probeEnded: Promise<unknown> = Promise.resolve();
  let worker: Worker;
  let generation = 0;
  let alive = false;
  let closed = false;
  let current: { jobId: number; job: PendingJob } | undefined;
  let nextId = 1;
  let deaths: number[] = [];
  let restartTimer: NodeJS.Timeout | undefined;
  let becameAlive: Promise<void> = Promise.resolve();
  let markAlive: () => void = () => {};
  /** A run that finds no live thread waits on this; it is renewed the moment a thread dies. */
  const awaitNextThread = () => {
    becameAlive = new Promise((resolve) => {
      markAlive = resolve;
    });
  };

  const failCurrent = (failure: EditFailure) => {
    const pending = current;
    current = undefined;
    pending?.job.reject(new EditFailed(failure));
  };

  const onDeath = (thread: Worker, code: number, error: (Error & { code?: string }) | undefined) => {
    if (thread !== worker || closed) return;
    alive = false;
    awaitNextThread();
    const outOfMemory = error?.code === 'ERR_WORKER_OUT_OF_MEMORY';
    const detail = error ? (error.stack ?? error.message) : `the thread exited with code ${code}`;
    logger.error(outOfMemory ? 'edit worker ran out of memory' : 'edit worker died', {
      generation: generation - 1,
      exitCode: code,
      detail,
    });
    failCurrent(
      outOfMemory
        ? {
            code: 'out_of_memory',
            message:
              'The edit ran out of memory on the server and its worker was restarted; send smaller images or fewer exemplars, or ask the admin for a larger memory limit.',
            reason: 'out_of_memory',
            detail,
          }
        : {
            code: 'worker_lost',
            message:
              'The worker thread running this edit died (a fault in the model runtime or the device) and was restarted; resend the edit, and tell the server admin if it happens again.',
            reason: 'worker_lost',
            detail,
          },
    );
    for (const request of modelRequests.values()) request.reject(new Error(`the edit worker died: ${detail}`));
    modelRequests.clear();
    for (const request of probeRequests.values()) request.reject(new Error(`the edit worker died: ${detail}`));
    probeRequests.clear();
    const now = Date.now();
    deaths = [...deaths.filter((at) => now - at < CRASH_WINDOW_MS), now];
    const delayMs = deaths.length <= 1 ? 0 : Math.min(MAX_RESTART_DELAY_MS, 250 * 2 ** (deaths.length - 1));
    logger.warn('restarting the edit worker', { delayMs, recentDeaths: deaths.length });
    restartTimer = setTimeout(start, delayMs);
  };

  const onMessage = (message: FromWorker) => {
    if (message.type === 'models') {
      const request = modelRequests.get(message.requestId);
      modelRequests.delete(message.requestId);
      if (message.models) request?.resolve(message.models);
      else request?.reject(new Error(message.error));
      return;
    }
    if (message.type === 'probe') {
      const request = probeRequests.get(message.requestId);
      probeRequests.delete(message.requestId);
      if (message.device) request?.resolve(message.device);
      else if (message.failure) request?.reject(new EditFailed(message.failure));
      return;
    }
    if (!current || current.jobId !== message.jobId) return;
    const { job } = current;
    switch (message.type) {
      case 'start':
        job.options.onStart?.(message.start);
        break;
      case 'progress':
        job.options.onProgress?.(message.progress);
        break;
      case 'done':
        current = undefined;
        job.resolve(message.outcome);
        break;
      case 'failed':
        current = undefined;
        job.reject(new EditFailed(message.failure));
        break;
    }
  };

  function start(): void {
    restartTimer = undefined;
    if (closed) return;
    const thread = new Worker(fileURLToPath(workerUrl), {
      workerData: { ...baseConfig, generation: generation++ } satisfies WorkerConfig,
      ...(options.resourceLimits ? { resourceLimits: options.resourceLimits } : {}),
    });
    worker = thread;
    let lastError: Error | undefined;
    thread.once('online', () => {
      alive = true;
      markAlive();
    });
    thread.on('message', onMessage);
    thread.on('error', (error) => {
      lastError = error;
    });
    thread.on('exit', (code) => onDeath(thread, code, lastError));
  }
  awaitNextThread();
  start();

  const post = (message: ToWorker) => worker.postMessage(message);

  return {
    get isAlive() {
      return alive && !closed;
    },
    async run(settings: EditSettings, inputs: EditInputs, runOptions: RunOptions = {}) {
      if (closed) throw new Error('the edit runner is closed');
      if (current) throw new Error('the edit runner takes one job at a time; the job queue hands them out');
      if (!alive) await becameAlive;
      await probeEnded;
      const ended = new Promise<EditOutcome>((resolve, reject) => {
        if (runOptions.signal?.aborted) return reject(new PixelsError('canceled', 'The edit was canceled.'));
        const jobId = nextId++;
        current = { jobId, job: { resolve, reject, options: runOptions } };
        runOptions.signal?.addEventListener(
          'abort',
          () => {
            if (current?.jobId === jobId) post({ type: 'cancel', jobId });
          },
          { once: true },
        );
        post({ type: 'run', jobId, settings, inputs });
      });
      jobEnded = ended.catch(() => undefined);
      return ended;
    },
    async listModels() {
      if (!alive) await becameAlive;
      return new Promise<ModelSummary[]>((resolve, reject) => {
        const requestId = nextId++;
        modelRequests.set(requestId, { resolve, reject });
        post({ type: 'models', requestId });
      });
    },
    async probe() {
      if (closed) throw new Error('the edit runner is closed');
      if (!alive) await becameAlive;
      await jobEnded;
      const probed = new Promise<DeviceReport>((resolve, reject) => {
        const requestId = nextId++;
        probeRequests.set(requestId, { resolve, reject });
        post({ type: 'probe', requestId });
      });
      probeEnded = probed.catch(() => undefined);
      return probed;
    },
    async close() {
      closed = true;
      clearTimeout(restartTimer);
      await worker.terminate();
    },
  };
}
