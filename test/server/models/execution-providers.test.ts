/**
 * Devices on this machine: onnxruntime-node's CUDA provider libraries are not installed (its
 * install script is skipped here) and there is no GPU, so CUDA must be a clear error and `auto`
 * must fall back to CPU saying why. Where the CUDA provider is installed, the same tests check
 * that CUDA either starts or is refused with onnxruntime's reason and the versions it needs.
 */

import { resolveDevice } from '@pixels/server/models/execution-providers.ts';
import { missingProviderLibraries } from '@pixels/server/models/onnx-runtime.ts';
import { PixelsError } from '@pixels/shared';
import { describe, expect, it } from 'vitest';

const hasCudaLibraries = missingProviderLibraries('cuda').length === 0;

describe('resolveDevice', () => {
  it('cpu always works', async () => {
    expect(await resolveDevice('cpu')).toEqual({ device: 'cpu', providers: ['cpu'], reason: 'CPU, as asked' });
  });

  it('cuda without its provider libraries: names the missing files, how to install them and the CUDA/cuDNN versions', async () => {
    const error = await resolveDevice('cuda').catch((caught: unknown) => caught);
    if (hasCudaLibraries) {
      // A GPU host: CUDA starts, or the error carries onnxruntime's reason and the runtime it needs.
      if (error instanceof Error)
        expect(error.message).toMatch(
          /the CUDA provider is installed but did not start on GPU 0 \(.*\)\. It needs .*CUDA 12\.x/,
        );
      else expect(error).toMatchObject({ device: 'cuda:0', providers: [{ name: 'cuda', deviceId: 0 }, 'cpu'] });
      return;
    }
    expect(error).toBeInstanceOf(PixelsError);
    expect((error as PixelsError).code).toBe('device_unavailable');
    const message = (error as Error).message;
    expect(message).toMatch(
      /^--device cuda: onnxruntime-node's CUDA provider libraries are not installed \(libonnxruntime_providers_shared\.so, libonnxruntime_providers_cuda\.so missing from .*onnxruntime-node.*bin[\\/]napi-v6[\\/]linux[\\/]x64\)/,
    );
    expect(message).toMatch(/ONNXRUNTIME_NODE_INSTALL=cuda12/);
    expect(message).toMatch(/pnpm rebuild onnxruntime-node/);
    expect(message).toMatch(/the CUDA 12\.x runtime \(cuBLAS, cuFFT, cuRAND\) and cuDNN 9\.x/);
  });

  it('auto falls back to CPU and says why', async () => {
    const choice = await resolveDevice('auto');
    if (hasCudaLibraries) {
      expect(choice.reason).toMatch(
        /^auto: (the CUDA provider loaded, so using CUDA on GPU 0|using CPU because the CUDA provider did not start)/,
      );
      return;
    }
    expect(choice.device).toBe('cpu');
    expect(choice.providers).toEqual(['cpu']);
    expect(choice.reason).toMatch(
      /^auto: using CPU because onnxruntime-node's CUDA provider libraries are not installed \('pixels models devices' says more\)$/,
    );
  });

  it('webgpu: works where a Vulkan adapter exists, else a clear error', async () => {
    const outcome = await resolveDevice('webgpu').catch((error: Error) => error);
    if (outcome instanceof Error) {
      expect(outcome.message).toMatch(
        /^--device webgpu: the WebGPU provider found no usable GPU \(.*\)\. On Linux it runs on Vulkan: install the Vulkan loader \(libvulkan1\)/,
      );
    } else expect(outcome.providers).toEqual(['webgpu', 'cpu']);
  });

  it('refuses a device it does not know', async () => {
    await expect(resolveDevice('tpu' as never)).rejects.toThrow(
      /--device: expected one of auto, cpu, cuda, webgpu or cuda:N, got "tpu"/,
    );
  });
});
