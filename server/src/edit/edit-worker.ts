/** The worker thread that owns the models and runs edits, so inference never blocks the main event loop. */
import { parentPort, workerData } from 'node:worker_threads';
import { ModelRegistry } from '../models/model-registry.ts';
import { lowerThisThread } from '../util/thread-priority.ts';
import { toEditFailure } from './edit-failure.ts';
import { runEditPipeline } from './edit-pipeline.ts';
import type { FaultInjection, FromWorker, ToWorker, WorkerConfig } from './worker-protocol.ts';

const config = workerData as WorkerConfig;
const port = parentPort!;
// Before any session exists, so onnxruntime's pool threads inherit the lower priority.
lowerThisThread(config.niceLevels);
const registry = new ModelRegistry({
  modelsDir: config.modelsDir,
  session: { providers: config.providers, intraOpThreads: config.intraOpThreads },
  device: config.device,
  deviceFlag: config.deviceFlag,
  maxResident: config.maxResidentModels,
});
const running = new Map<number, AbortController>();

function send(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

async function run(message: Extract<ToWorker, { type: 'run' }>): Promise<void> {
  const { jobId } = message;
  const controller = new AbortController();
  running.set(jobId, controller);
  try {
    const outcome = await runEditPipeline(registry, message.settings, message.inputs, config.limits, {
      signal: controller.signal,
      onStart: (start) => send({ type: 'start', jobId, start }),
      onProgress: (progress) => {
        injectFault(config.faultInjection, progress.step);
        send({ type: 'progress', jobId, progress });
      },
    });
    send({ type: 'done', jobId, outcome }, [outcome.png.buffer as ArrayBuffer]);
  } catch (error) {
    send({ type: 'failed', jobId, failure: toEditFailure(error) });
  } finally {
    running.delete(jobId);
  }
}

/** The supervision tests' way to kill this thread mid-job (see FaultInjection). */
function injectFault(fault: FaultInjection | undefined, step: number): void {
  if (!fault || step < fault.atStep || (fault.threads > 0 && config.generation >= fault.threads)) return;
  if (fault.kind === 'exit') process.exit(70);
  const hog: number[][] = [];
  for (;;) hog.push(new Array(1 << 20).fill(Math.random()));
}

port.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'run':
      void run(message);
      break;
    case 'cancel':
      running.get(message.jobId)?.abort();
      break;
    case 'probe':
      registry
        .probe()
        .then((device) => send({ type: 'probe', requestId: message.requestId, device }))
        .catch((error: unknown) =>
          send({ type: 'probe', requestId: message.requestId, failure: toEditFailure(error) }),
        );
      break;
    case 'models':
      registry
        .summaries()
        .then((models) => send({ type: 'models', requestId: message.requestId, models }))
        .catch((error: Error) => send({ type: 'models', requestId: message.requestId, error: error.message }));
      break;
  }
});
