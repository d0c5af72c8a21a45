/** The worker thread that owns the models and runs edits, so inference never blocks the main event loop. */
import { parentPort, workerData } from 'node:worker_threads';
import { PixelsError } from '@pixels/shared';
import { ModelRegistry } from '../models/model-registry.ts';
import { runEditPipeline } from './edit-pipeline.ts';
import type { FromWorker, ToWorker, WorkerConfig } from './worker-protocol.ts';

const config = workerData as WorkerConfig;
const port = parentPort!;
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
      onProgress: (progress) => send({ type: 'progress', jobId, progress }),
    });
    send({ type: 'done', jobId, outcome }, [outcome.png.buffer as ArrayBuffer]);
  } catch (error) {
    if (error instanceof PixelsError) {
      send({ type: 'failed', jobId, error: error.toBody().error, internal: false });
    } else {
      const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
      send({ type: 'failed', jobId, error: { code: 'internal', message: detail }, internal: true });
    }
  } finally {
    running.delete(jobId);
  }
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
        .catch((error: Error) =>
          send({
            type: 'probe',
            requestId: message.requestId,
            error: error instanceof PixelsError ? error.toBody().error : { code: 'internal', message: error.message },
          }),
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
