/** A real edit worker probes its device: the built-in model's sessions opened on it and run once. */
import { createEditRunner } from '@pixels/server/edit/create-edit-runner.ts';
import { EditFailed } from '@pixels/server/edit/edit-failure.ts';
import { DEFAULT_LIMITS } from '@pixels/shared';
import { describe, expect, it } from 'vitest';
import { TEST_MODELS_DIR } from '../http/live-server.ts';

describe('EditRunner.probe', () => {
  it('on CPU: reports the device and the providers its sessions were created with', async () => {
    const runner = createEditRunner({
      modelsDir: TEST_MODELS_DIR,
      device: 'cpu',
      intraOpThreads: 1,
      limits: DEFAULT_LIMITS,
    });
    try {
      expect(await runner.probe()).toEqual({ device: 'cpu', providers: 'cpu', reason: 'CPU, as asked' });
    } finally {
      await runner.close();
    }
  });

  it('on a GPU that cannot start: device_unavailable, its detail (for the log) naming the flag the device came from', async () => {
    // GPU 63 exists nowhere: this fails with or without the CUDA provider installed.
    const runner = createEditRunner({
      modelsDir: TEST_MODELS_DIR,
      device: 'cuda:63',
      deviceFlag: '--devices',
      intraOpThreads: 1,
      limits: DEFAULT_LIMITS,
    });
    try {
      const error = await runner.probe().catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(EditFailed);
      const { failure } = error as EditFailed;
      expect(failure).toMatchObject({ code: 'device_unavailable', reason: 'server_fault' });
      // The client's message holds no library paths; the device's own words are the log's.
      expect(failure.message).not.toMatch(/\//);
      expect(failure.detail).toMatch(
        /^--devices cuda:63: (onnxruntime-node's CUDA provider libraries are not installed|the CUDA provider is installed but did not start on GPU 63)/,
      );
    } finally {
      await runner.close();
    }
  });
});
