import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { DEFAULT_LIMITS, type EditSettings, type ModelSummary, PixelsError } from '@pixels/shared';
import type { Device, DeviceSpec } from '../models/devices.ts';
import type { DeviceReport, EditInputs, EditOutcome, EditRunner, RunOptions } from './edit-runner.ts';
import type { FromWorker, ToWorker, WorkerConfig } from './worker-protocol.ts';

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
  maxPixels?: number;
  maxExemplars?: number;
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

/** Starts one worker thread that owns the models of one device; edits on it run one at a time. */
export function createEditRunner(options: EditRunnerOptions): EditRunner {
  const config: WorkerConfig = {
    modelsDir: options.modelsDir,
    providers: options.providers ?? ['cpu'],
    ...(options.device ? { device: options.device } : {}),
    ...(options.deviceFlag ? { deviceFlag: options.deviceFlag } : {}),
    intraOpThreads: options.intraOpThreads ?? availableParallelism(),
    maxResidentModels: options.maxResidentModels ?? 1,
    limits: {
      maxPixels: options.maxPixels ?? DEFAULT_LIMITS.maxPixels,
      maxExemplars: options.maxExemplars ?? DEFAULT_LIMITS.maxExemplars,
    },
  };
  const worker = new Worker(fileURLToPath(workerUrl), { workerData: config });
  const jobs = new Map<number, PendingJob>();
  const modelRequests = new Map<
    number,
    { resolve: (models: ModelSummary[]) => void; reject: (error: Error) => void }
  >();
  const probeRequests = new Map<number, { resolve: (device: DeviceReport) => void; reject: (error: Error) => void }>();
  let nextId = 1;
  let queue: Promise<unknown> = Promise.resolve();
  let closed = false;

  const failAll = (error: Error) => {
    for (const job of jobs.values()) job.reject(error);
    jobs.clear();
    for (const request of modelRequests.values()) request.reject(error);
    modelRequests.clear();
    for (const request of probeRequests.values()) request.reject(error);
    probeRequests.clear();
  };
  worker.on('error', (error) => failAll(new Error(`edit worker crashed: ${error.message}`)));
  worker.on('exit', (code) => {
    if (!closed) failAll(new Error(`edit worker exited with code ${code}`));
  });
  worker.on('message', (message: FromWorker) => {
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
      else if (message.error)
        request?.reject(new PixelsError(message.error.code, message.error.message, message.error.field));
      return;
    }
    const job = jobs.get(message.jobId);
    if (!job) return;
    switch (message.type) {
      case 'start':
        job.options.onStart?.(message.start);
        break;
      case 'progress':
        job.options.onProgress?.(message.progress);
        break;
      case 'done':
        jobs.delete(message.jobId);
        job.resolve(message.outcome);
        break;
      case 'failed':
        jobs.delete(message.jobId);
        job.reject(
          message.internal
            ? new Error(message.error.message)
            : new PixelsError(message.error.code, message.error.message, message.error.field),
        );
        break;
    }
  });
  const post = (message: ToWorker) => worker.postMessage(message);

  const runNow = (settings: EditSettings, inputs: EditInputs, runOptions: RunOptions) =>
    new Promise<EditOutcome>((resolve, reject) => {
      if (runOptions.signal?.aborted) return reject(new PixelsError('canceled', 'The edit was canceled.'));
      const jobId = nextId++;
      jobs.set(jobId, { resolve, reject, options: runOptions });
      runOptions.signal?.addEventListener('abort', () => post({ type: 'cancel', jobId }), { once: true });
      post({ type: 'run', jobId, settings, inputs });
    });

  return {
    run(settings, inputs, runOptions = {}) {
      if (closed) return Promise.reject(new Error('the edit runner is closed'));
      const result = queue.then(() => runNow(settings, inputs, runOptions));
      queue = result.catch(() => undefined);
      return result;
    },
    listModels() {
      return new Promise((resolve, reject) => {
        const requestId = nextId++;
        modelRequests.set(requestId, { resolve, reject });
        post({ type: 'models', requestId });
      });
    },
    probe() {
      if (closed) return Promise.reject(new Error('the edit runner is closed'));
      // Queued with the edits: a probe loads the built-in model, which must not evict a model an edit is using.
      const result = queue.then(
        () =>
          new Promise<DeviceReport>((resolve, reject) => {
            const requestId = nextId++;
            probeRequests.set(requestId, { resolve, reject });
            post({ type: 'probe', requestId });
          }),
      );
      queue = result.catch(() => undefined);
      return result;
    },
    async close() {
      closed = true;
      await worker.terminate();
    },
  };
}
