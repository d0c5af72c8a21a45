/**
 * The server checks its devices before it serves, and a device that fails later is a server fault
 * with its own code. What each worker's sessions are created with is checked along the same chain
 * the worker runs (flag → worker options → providers → onnxruntime session options), since no GPU
 * is here to open a CUDA session on. A device failing mid-job is played by a scripted runner that
 * fails the way the worker does when onnxruntime reports a CUDA error (the same classifier makes
 * the error); everything around it (HTTP on loopback, queue, events, /readyz) is real.
 */
import { workerOptions } from '@pixels/server/cli/serve.ts';
import { parseServeConfig } from '@pixels/server/cli/serve-config.ts';
import { DeviceStartError } from '@pixels/server/edit/device-readiness.ts';
import { DEFAULT_SERVER_LIMITS } from '@pixels/server/http/server-limits.ts';
import { type RunningServer, startServer } from '@pixels/server/http/start-server.ts';
import { TokenRegistry } from '@pixels/server/http/tokens.ts';
import { providersFor } from '@pixels/server/models/execution-providers.ts';
import { deviceFailure, ortSessionOptions } from '@pixels/server/models/onnx-runtime.ts';
import { createJsonLogger } from '@pixels/server/observability/logger.ts';
import { ErrorBody, Job, PixelsError } from '@pixels/shared';
import { describe, expect, it } from 'vitest';
import { ScriptedEditRunner } from '../jobs/scripted-edit-runner.ts';
import { bearer, editForm, TEAM_TOKENS } from './app-harness.ts';
import { discPng, gradientPng } from './png-bytes.ts';
import { readEventStream } from './sse-client.ts';

describe('the session options each worker gets', () => {
  it('--devices cuda:0,cuda:1,cpu,webgpu: cuda:N reaches onnxruntime as the CUDA provider with deviceId N', () => {
    const config = parseServeConfig(['--devices', 'cuda:0,cuda:1,cpu,webgpu'], {}, '/models')!;
    const workers = workerOptions(config, 9);
    expect(workers.map((worker) => [worker.device, worker.deviceFlag])).toEqual([
      ['cuda:0', '--devices'],
      ['cuda:1', '--devices'],
      ['cpu', '--devices'],
      ['webgpu', '--devices'],
    ]);
    // One CPU worker: it gets the cores but one.
    expect(workers.map((worker) => worker.intraOpThreads)).toEqual([8, 8, 8, 8]);
    const sessions = workers.map((worker) =>
      ortSessionOptions({
        providers: providersFor(worker.device as Parameters<typeof providersFor>[0]),
        intraOpThreads: worker.intraOpThreads!,
      }),
    );
    expect(sessions.map((session) => session.executionProviders)).toEqual([
      [{ name: 'cuda', deviceId: 0 }, 'cpu'],
      [{ name: 'cuda', deviceId: 1 }, 'cpu'],
      ['cpu'],
      ['webgpu', 'cpu'],
    ]);
    expect(sessions[2]).toMatchObject({ intraOpNumThreads: 8, interOpNumThreads: 1, executionMode: 'sequential' });
  });

  it('the documented `cuda` is GPU 0', () => {
    const config = parseServeConfig(['--devices', 'cuda'], {}, '/models')!;
    expect(config.devices).toEqual(['cuda:0']);
    expect(
      ortSessionOptions({ providers: providersFor(config.devices[0] as 'cuda:0'), intraOpThreads: 1 }),
    ).toMatchObject({ executionProviders: [{ name: 'cuda', deviceId: 0 }, 'cpu'] });
  });
});

describe('a GPU failing while a part runs', () => {
  it('is device_unavailable naming the device, not model_error, and only for GPU sessions', () => {
    const error = deviceFailure(
      [{ name: 'cuda', deviceId: 1 }, 'cpu'],
      'CUDA failure 700: an illegal memory access was encountered ; GPU=1 ; hostname=x\n at …',
    );
    expect(error).toBeInstanceOf(PixelsError);
    expect(error?.code).toBe('device_unavailable');
    expect(error?.message).toBe(
      "The cuda:1 device failed (CUDA failure 700: an illegal memory access was encountered ; GPU=1 ; hostname=x), so the edit did not run; check that GPU (nvidia-smi, 'pixels models devices') and retry.",
    );
    expect(deviceFailure(['cpu'], 'CUDA failure 700')).toBeUndefined();
    expect(deviceFailure([{ name: 'cuda', deviceId: 0 }, 'cpu'], 'Invalid rank for input: sample')).toBeUndefined();
  });
});

const silent = createJsonLogger({ level: 'error', write: () => {} });

async function serve(runners: ScriptedEditRunner[], devicesFallback = false): Promise<RunningServer> {
  return startServer({
    host: '127.0.0.1',
    port: 0,
    runners,
    devicesFallback,
    tokens: new TokenRegistry(TEAM_TOKENS),
    limits: DEFAULT_SERVER_LIMITS,
    logger: silent,
  });
}

const cannotStart = () =>
  new PixelsError(
    'device_unavailable',
    "--devices cuda:1: onnxruntime-node's CUDA provider libraries are not installed",
  );

describe('start-up probes', () => {
  it('a device that cannot start stops the start, names the device and the way out, and closes every worker', async () => {
    const runners = [new ScriptedEditRunner(), new ScriptedEditRunner({ probe: cannotStart() })];
    const failure = await serve(runners).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(DeviceStartError);
    expect((failure as Error).message).toBe(
      "Not starting: 1 of its 2 devices cannot start.\nworker 2: --devices cuda:1: onnxruntime-node's CUDA provider libraries are not installed\n" +
        "Fix the device, leave it out of --devices, or add --devices-fallback to serve on the devices that start ('pixels models devices' tests each one).",
    );
    expect(runners.map((runner) => runner.closed)).toEqual([true, true]);
  });

  it('under --devices-fallback the device is dropped and the rest serve; with none left it still refuses', async () => {
    const runners = [new ScriptedEditRunner(), new ScriptedEditRunner({ probe: cannotStart() })];
    const server = await serve(runners, true);
    try {
      expect(runners.map((runner) => runner.closed)).toEqual([false, true]);
      const ready = await fetch(`${server.url}/readyz`);
      expect(ready.status).toBe(200);
      expect((await ready.json()).workers).toBe(1);
    } finally {
      await server.close();
    }
    const none = await serve([new ScriptedEditRunner({ probe: cannotStart() })], true).catch((error) => error);
    expect(none).toBeInstanceOf(DeviceStartError);
    expect(none.message).toMatch(/^Not starting: its device cannot start\.\nworker 1: --devices cuda:1: /);
  });
});

describe('a device failing during a job', () => {
  it('fails the job with device_unavailable (503 for its result); /readyz answers 503 until the device passes a probe again', async () => {
    let broken = false;
    const gpuError = () =>
      deviceFailure([{ name: 'cuda', deviceId: 1 }, 'cpu'], 'CUDA failure 999: unknown error ; GPU=1')!;
    const runner = new ScriptedEditRunner({
      probe: () =>
        broken ? gpuError() : { device: 'cuda:1', providers: 'cuda:1, cpu', reason: 'CUDA on GPU 1, as asked' },
      failWith: () => (broken ? gpuError() : undefined),
    });
    const server = await serve([runner]);
    const as = (init: RequestInit = {}) => ({ ...init, headers: bearer('ana') });
    const form = () => editForm({ settings: { steps: 2 }, source: gradientPng(64, 64), exemplars: [discPng(64, 64)] });
    const submit = async () => (await fetch(`${server.url}/v1/edits`, as({ method: 'POST', body: form() }))).json();
    const lastEvent = async (eventsUrl: string) =>
      (await readEventStream(await fetch(`${server.url}${eventsUrl}`, as()))).at(-1)!.event;
    try {
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
      broken = true;
      const submitted = await submit();
      expect(await lastEvent(submitted.eventsUrl)).toMatchObject({
        type: 'failed',
        error: { code: 'device_unavailable' },
      });
      const job = Job.parse(await (await fetch(`${server.url}/v1/jobs/${submitted.id}`, as())).json());
      // The client is told what happened and what to do; onnxruntime's words stay in the log.
      expect(job.error?.message).toMatch(/^The server's GPU device failed, so the edit did not run; retry/);
      expect(job.error?.message).not.toMatch(/CUDA failure/);

      const result = await fetch(`${server.url}/v1/jobs/${submitted.id}/result`, as());
      expect(result.status).toBe(503);
      expect(ErrorBody.parse(await result.json()).error.code).toBe('device_unavailable');

      const ready = await fetch(`${server.url}/readyz`);
      expect(ready.status).toBe(503);
      const readyError = ErrorBody.parse(await ready.json()).error;
      expect(readyError.code).toBe('device_unavailable');
      expect(readyError.message).toMatch(
        /^Not ready: 1 of 1 workers cannot run their model: worker 1 \(cuda:1\): its device failed; the server log has the detail/,
      );
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);

      // The device recovers: a later /readyz probes it again and reports ready; edits run again.
      broken = false;
      let status = 503;
      for (let attempt = 0; attempt < 50 && status !== 200; attempt++) {
        status = (await fetch(`${server.url}/readyz`)).status;
        if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(status).toBe(200);
      expect(runner.probes).toBeGreaterThanOrEqual(3);
      expect(await lastEvent((await submit()).eventsUrl)).toMatchObject({ type: 'done' });
    } finally {
      await server.close();
    }
  });
});
