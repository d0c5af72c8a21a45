/** The devices a user can ask for; kept apart from execution-providers.ts so parsing a flag loads no native code. */

/** `pixels edit --device`: one device for one run. */
export const DEVICES = ['auto', 'cpu', 'cuda', 'webgpu'] as const;
export type Device = (typeof DEVICES)[number];

/**
 * One worker's device for `pixels serve --devices`: `cuda:N` is GPU N (onnxruntime's CUDA
 * `deviceId`); plain `cuda` is read as `cuda:0`. `auto` is CUDA on GPU 0 when its provider loads, else CPU.
 */
export type DeviceSpec = 'auto' | 'cpu' | 'webgpu' | `cuda:${number}`;

/** The spellings `--devices` takes, for messages. */
export const DEVICE_SPELLINGS = 'cpu, cuda:N (N = the GPU index, as nvidia-smi numbers them), webgpu, auto';

/** The highest GPU index we accept; a typo such as cuda:100 is refused rather than probed. */
const MAX_GPU_INDEX = 63;

/** `cuda:1` → 'cuda:1', `cuda` → 'cuda:0', `CPU` → 'cpu'; undefined for anything else. */
export function parseDeviceSpec(entry: string): DeviceSpec | undefined {
  const text = entry.trim().toLowerCase();
  if (text === 'auto' || text === 'cpu' || text === 'webgpu') return text;
  if (text === 'cuda') return 'cuda:0';
  const match = /^cuda:(\d{1,2})$/.exec(text);
  if (!match || Number(match[1]) > MAX_GPU_INDEX) return undefined;
  return `cuda:${Number(match[1])}`;
}

/** The GPU index of a `cuda:N` spec, undefined for other devices. */
export function cudaDeviceId(spec: DeviceSpec): number | undefined {
  return spec.startsWith('cuda:') ? Number(spec.slice('cuda:'.length)) : undefined;
}
