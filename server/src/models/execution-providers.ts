/**
 * `--device auto|cpu|cuda|webgpu` → onnxruntime execution providers. CUDA's provider libraries are
 * not in the npm package (its install script fetches them from NuGet) and need the CUDA runtime and
 * cuDNN on the host; asking for CUDA without them makes onnxruntime throw rather than fall back, so
 * each request is probed once and refused with what is missing, and `auto` falls back to CPU saying why.
 */
import { PixelsError } from '@pixels/shared';
import { DEVICES, type Device } from './devices.ts';
import { missingProviderLibraries, probeProvider, runtimeLibraryFolder } from './onnx-runtime.ts';

export { DEVICES, type Device };

export interface DeviceChoice {
  /** The device actually used. */
  device: Exclude<Device, 'auto'>;
  /** onnxruntime providers in order; CPU last, so operators a GPU provider lacks still run. */
  providers: string[];
  /** One line for logs: what was chosen and why. */
  reason: string;
}

/** What the onnxruntime-node 1.30 CUDA provider needs (its NuGet package is built for CUDA 12 and cuDNN 9). */
export const CUDA_REQUIREMENTS =
  'an NVIDIA driver, the CUDA 12.x runtime (cuBLAS, cuFFT, cuRAND) and cuDNN 9.x on the library path';
export const CUDA_INSTALL_HINT =
  "install them with ONNXRUNTIME_NODE_INSTALL=cuda12 when onnxruntime-node's install script runs " +
  '(with pnpm: add onnxruntime-node to onlyBuiltDependencies in pnpm-workspace.yaml, then ' +
  '`ONNXRUNTIME_NODE_INSTALL=cuda12 pnpm rebuild onnxruntime-node`); see server/MODELS.md, "Devices: CPU, CUDA, WebGPU"';

interface Problem {
  /** One clause for `auto`'s log line. */
  short: string;
  /** The whole story for an explicit request. */
  full: string;
}

/** Why CUDA cannot be used here, or undefined when it works. */
async function cudaProblem(): Promise<Problem | undefined> {
  const missing = missingProviderLibraries('cuda');
  if (missing.length > 0) {
    return {
      short: "onnxruntime-node's CUDA provider libraries are not installed",
      full: `onnxruntime-node's CUDA provider libraries are not installed (${missing.join(', ')} missing from ${runtimeLibraryFolder()}): ${CUDA_INSTALL_HINT}. It also needs ${CUDA_REQUIREMENTS}.`,
    };
  }
  const failure = await probeProvider('cuda');
  if (failure === undefined) return undefined;
  return {
    short: `the CUDA provider did not start (${failure})`,
    full: `the CUDA provider is installed but did not start (${failure}). It needs ${CUDA_REQUIREMENTS}; check nvidia-smi and that libcudart.so.12 and libcudnn.so.9 are found (LD_LIBRARY_PATH).`,
  };
}

async function webgpuProblem(): Promise<string | undefined> {
  const failure = await probeProvider('webgpu');
  if (failure === undefined) return undefined;
  return `the WebGPU provider found no usable GPU (${failure}). On Linux it runs on Vulkan: install the Vulkan loader (libvulkan1) and your GPU's Vulkan driver, and check with vulkaninfo.`;
}

const choices = new Map<Device, Promise<DeviceChoice>>();

async function choose(device: Device): Promise<DeviceChoice> {
  switch (device) {
    case 'cpu':
      return { device: 'cpu', providers: ['cpu'], reason: 'CPU, as asked' };
    case 'cuda': {
      const problem = await cudaProblem();
      if (problem) throw new PixelsError('invalid_settings', `--device cuda: ${problem.full}`, 'device');
      return { device: 'cuda', providers: ['cuda', 'cpu'], reason: 'CUDA, as asked' };
    }
    case 'webgpu': {
      const problem = await webgpuProblem();
      if (problem) throw new PixelsError('invalid_settings', `--device webgpu: ${problem}`, 'device');
      return { device: 'webgpu', providers: ['webgpu', 'cpu'], reason: 'WebGPU, as asked' };
    }
    case 'auto': {
      const problem = await cudaProblem();
      if (!problem)
        return { device: 'cuda', providers: ['cuda', 'cpu'], reason: 'auto: the CUDA provider loaded, so using CUDA' };
      return {
        device: 'cpu',
        providers: ['cpu'],
        reason: `auto: using CPU because ${problem.short} ('pixels models devices' says more)`,
      };
    }
  }
}

/**
 * Resolves a device request once per process (later calls reuse the answer).
 * @throws PixelsError('invalid_settings') naming what is missing when an explicit GPU device cannot load
 */
export function resolveDevice(device: Device): Promise<DeviceChoice> {
  if (!DEVICES.includes(device)) {
    return Promise.reject(
      new PixelsError(
        'invalid_settings',
        `--device: expected one of ${DEVICES.join(', ')}, got ${JSON.stringify(device)}`,
        'device',
      ),
    );
  }
  let choice = choices.get(device);
  if (!choice) {
    choice = choose(device);
    choices.set(device, choice);
    choice.catch(() => choices.delete(device));
  }
  return choice;
}
