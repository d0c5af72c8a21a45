/**
 * Devices → onnxruntime execution providers: `cpu`, `cuda:N` (the CUDA provider with `deviceId` N),
 * `webgpu`, and `auto` (CUDA on GPU 0 when its provider loads, else CPU). CUDA's provider libraries
 * are not in the npm package (its install script fetches them from NuGet) and need the CUDA runtime
 * and cuDNN on the host; asking for CUDA without them makes onnxruntime throw rather than fall back,
 * so each device is probed once (a session created on it and run) and refused with what is missing.
 */
import { PixelsError } from '@pixels/shared';
import { cudaDeviceId, DEVICES, type Device, type DeviceSpec, parseDeviceSpec } from './devices.ts';
import {
  type ExecutionProvider,
  missingProviderLibraries,
  probeProvider,
  providerLabel,
  runtimeLibraryFolder,
} from './onnx-runtime.ts';

export { DEVICES, type Device, type DeviceSpec };

export interface DeviceChoice {
  /** The device actually used: `cpu`, `cuda:N` or `webgpu`. */
  device: Exclude<DeviceSpec, 'auto'>;
  /** onnxruntime providers in order; CPU last, so operators a GPU provider lacks still run. */
  providers: ExecutionProvider[];
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

/** The providers a device's sessions are created with: `cuda:N` reaches onnxruntime as the CUDA provider's deviceId. */
export function providersFor(device: Exclude<DeviceSpec, 'auto'>): ExecutionProvider[] {
  const deviceId = cudaDeviceId(device);
  if (deviceId !== undefined) return [{ name: 'cuda', deviceId }, 'cpu'];
  return device === 'webgpu' ? ['webgpu', 'cpu'] : ['cpu'];
}

/** `cuda:1, cpu` for logs. */
export function describeProviders(providers: readonly ExecutionProvider[]): string {
  return providers.map(providerLabel).join(', ');
}

interface Problem {
  /** One clause for `auto`'s log line. */
  short: string;
  /** The whole story for an explicit request. */
  full: string;
}

/** Why CUDA cannot be used on GPU `deviceId`, or undefined when a session starts and runs there. */
async function cudaProblem(deviceId: number): Promise<Problem | undefined> {
  const missing = missingProviderLibraries('cuda');
  if (missing.length > 0) {
    return {
      short: "onnxruntime-node's CUDA provider libraries are not installed",
      full: `onnxruntime-node's CUDA provider libraries are not installed (${missing.join(', ')} missing from ${runtimeLibraryFolder()}): ${CUDA_INSTALL_HINT}. It also needs ${CUDA_REQUIREMENTS}.`,
    };
  }
  const failure = await probeProvider({ name: 'cuda', deviceId });
  if (failure === undefined) return undefined;
  return {
    short: `the CUDA provider did not start on GPU ${deviceId} (${failure})`,
    full: `the CUDA provider is installed but did not start on GPU ${deviceId} (${failure}). It needs ${CUDA_REQUIREMENTS} and a GPU with that index (nvidia-smi -L lists them); check that libcudart.so.12 and libcudnn.so.9 are found (LD_LIBRARY_PATH).`,
  };
}

async function webgpuProblem(): Promise<string | undefined> {
  const failure = await probeProvider('webgpu');
  if (failure === undefined) return undefined;
  return `the WebGPU provider found no usable GPU (${failure}). On Linux it runs on Vulkan: install the Vulkan loader (libvulkan1) and your GPU's Vulkan driver, and check with vulkaninfo.`;
}

/** The choice for a device, or the problem that keeps it from starting. */
type Outcome = { choice: DeviceChoice } | { problem: string };

async function choose(device: DeviceSpec): Promise<Outcome> {
  if (device === 'cpu') return { choice: { device, providers: providersFor(device), reason: 'CPU, as asked' } };
  if (device === 'webgpu') {
    const problem = await webgpuProblem();
    return problem ? { problem } : { choice: { device, providers: providersFor(device), reason: 'WebGPU, as asked' } };
  }
  if (device === 'auto') {
    const problem = await cudaProblem(0);
    if (!problem) {
      return {
        choice: {
          device: 'cuda:0',
          providers: providersFor('cuda:0'),
          reason: 'auto: the CUDA provider loaded, so using CUDA on GPU 0',
        },
      };
    }
    return {
      choice: {
        device: 'cpu',
        providers: ['cpu'],
        reason: `auto: using CPU because ${problem.short} ('pixels models devices' says more)`,
      },
    };
  }
  const problem = await cudaProblem(cudaDeviceId(device)!);
  return problem
    ? { problem: problem.full }
    : { choice: { device, providers: providersFor(device), reason: `CUDA on GPU ${cudaDeviceId(device)}, as asked` } };
}

const outcomes = new Map<DeviceSpec, Promise<Outcome>>();

export interface ResolveOptions {
  /** The flag the device came from, named in errors: `--device` (pixels edit, the default) or `--devices` (pixels serve). */
  flag?: string;
}

/**
 * Resolves a device once per process (later calls reuse the probe's answer). Takes `pixels edit
 * --device` values and `pixels serve --devices` entries alike (`cuda` is `cuda:0`).
 * @throws PixelsError('device_unavailable') naming the flag, the device and what is missing when a GPU cannot start
 * @throws PixelsError('invalid_settings') for a device name it does not know
 */
export async function resolveDevice(asked: string, options: ResolveOptions = {}): Promise<DeviceChoice> {
  const flag = options.flag ?? '--device';
  const device = parseDeviceSpec(asked);
  if (!device) {
    throw new PixelsError(
      'invalid_settings',
      `${flag}: expected one of ${DEVICES.join(', ')} or cuda:N, got ${JSON.stringify(asked)}`,
      'device',
    );
  }
  let outcome = outcomes.get(device);
  if (!outcome) {
    outcome = choose(device);
    outcomes.set(device, outcome);
  }
  const answer = await outcome;
  if ('choice' in answer) return answer.choice;
  outcomes.delete(device); // probed again next time: a driver may have been fixed meanwhile
  throw new PixelsError('device_unavailable', `${flag} ${asked}: ${answer.problem}`, 'device');
}
