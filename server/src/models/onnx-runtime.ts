/** The one module that imports onnxruntime-node: sessions in, plain tensors out. */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, platform } from 'node:os';
import { dirname, join } from 'node:path';
import { PixelsError } from '@pixels/shared';
import * as ort from 'onnxruntime-node';
import type { Tensor } from '../engine/tensor.ts';
import { float16ToFloat32, float32ToFloat16 } from '../onnx/float16.ts';
import { createModel, GraphBuilder, serializeModel } from '../onnx/writer/index.ts';

export type TensorType = 'float32' | 'float16' | 'int32' | 'int64';

export interface ValueInfo {
  name: string;
  type: TensorType;
  /** Fixed sizes as numbers, symbolic ones as their names. */
  shape: readonly (number | string)[];
}

/** A feed already converted for one input (see ModelSession.prepare); opaque outside this module. */
export interface PreparedTensor {
  readonly shape: readonly number[];
}

/**
 * A value fed to a session: floats are converted to the input's declared type on the way in;
 * `prepared` ones were converted once and are reused (conditioning that stays fixed for a pass).
 */
export type Feed =
  | { kind: 'float'; tensor: Tensor }
  | { kind: 'int'; data: readonly number[]; shape: readonly number[] }
  | { kind: 'prepared'; value: PreparedTensor };

/** An onnxruntime execution provider: its name, or its name with the GPU it runs on. */
export type ExecutionProvider = string | { readonly name: string; readonly deviceId?: number };

export interface SessionOptions {
  /** Execution providers in order of preference, e.g. [{ name: 'cuda', deviceId: 1 }, 'cpu'] (see execution-providers.ts). */
  providers: readonly ExecutionProvider[];
  /** Threads for one operator; 0 lets onnxruntime choose (one per core). */
  intraOpThreads: number;
}

export interface ModelSession {
  readonly path: string;
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  run(feeds: Record<string, Feed>): Promise<Record<string, Tensor>>;
  /** Converts a feed for input `name` once, for reuse across runs. */
  prepare(name: string, feed: Feed): Feed;
  /** Runs so far and the milliseconds spent inside onnxruntime (for the overhead benchmark). */
  readonly stats: { runs: number; milliseconds: number };
  release(): Promise<void>;
}

interface PreparedOrtTensor extends PreparedTensor {
  readonly tensor: ort.Tensor;
}

const SUPPORTED_TYPES: readonly string[] = ['float32', 'float16', 'int32', 'int64'];

function valueInfo(path: string, metadata: ort.InferenceSession.ValueMetadata): ValueInfo {
  if (!metadata.isTensor || !SUPPORTED_TYPES.includes(metadata.type)) {
    const type = metadata.isTensor ? metadata.type : 'a non-tensor value';
    throw new PixelsError(
      'model_error',
      `${path}: '${metadata.name}' is ${type}; only float32, float16, int32 and int64 tensors are supported`,
    );
  }
  return { name: metadata.name, type: metadata.type as TensorType, shape: metadata.shape };
}

function toOrtTensor(info: ValueInfo, feed: Feed): ort.Tensor {
  if (feed.kind === 'prepared') return (feed.value as PreparedOrtTensor).tensor;
  if (feed.kind === 'int') {
    const dims = [...feed.shape];
    if (info.type === 'int64')
      return new ort.Tensor(
        'int64',
        BigInt64Array.from(feed.data, (v) => BigInt(v)),
        dims,
      );
    if (info.type === 'int32') return new ort.Tensor('int32', Int32Array.from(feed.data), dims);
    throw new Error(`input '${info.name}' takes ${info.type}, not integer ids`);
  }
  const { data, shape } = feed.tensor;
  const dims = [...shape];
  switch (info.type) {
    case 'float32':
      return new ort.Tensor('float32', data, dims);
    case 'float16':
      return new ort.Tensor('float16', float32ToFloat16(data), dims);
    case 'int64':
      return new ort.Tensor(
        'int64',
        BigInt64Array.from(data, (v) => BigInt(Math.round(v))),
        dims,
      );
    case 'int32':
      return new ort.Tensor(
        'int32',
        Int32Array.from(data, (v) => Math.round(v)),
        dims,
      );
  }
}

function fromOrtTensor(value: ort.Tensor): Tensor {
  const shape = [...value.dims];
  switch (value.type) {
    case 'float32':
      return { data: value.data as Float32Array, shape };
    case 'float16':
      return { data: float16ToFloat32(value.data as Uint16Array), shape };
    case 'int64':
      return { data: Float32Array.from(value.data as BigInt64Array, (v) => Number(v)), shape };
    case 'int32':
      return { data: Float32Array.from(value.data as Int32Array), shape };
    default:
      throw new Error(`output of type ${value.type} is not supported`);
  }
}

function feedShape(feed: Feed): readonly number[] {
  if (feed.kind === 'prepared') return feed.value.shape;
  return feed.kind === 'int' ? feed.shape : feed.tensor.shape;
}

/** Refuses a feed whose shape a fixed-shape export cannot take, before onnxruntime fails obscurely. */
function checkFeedShape(path: string, info: ValueInfo, shape: readonly number[]): void {
  const fits =
    shape.length === info.shape.length &&
    info.shape.every((dim, axis) => typeof dim !== 'number' || dim < 0 || dim === shape[axis]);
  if (fits) return;
  throw new PixelsError(
    'model_error',
    `${path}: input '${info.name}' takes shape [${info.shape.join(', ')}], but this edit needs [${shape.join(', ')}]. ` +
      'The part was exported with fixed sizes: edit at the size it takes, or re-export it with dynamic axes (optimum-cli export onnx does).',
  );
}

/** `cuda:1`, `webgpu`, `cpu`: how logs and messages name a provider. */
export function providerLabel(provider: ExecutionProvider): string {
  if (typeof provider === 'string') return provider;
  return provider.deviceId === undefined ? provider.name : `${provider.name}:${provider.deviceId}`;
}

/** What onnxruntime reports when a GPU, rather than the model, fails (CUDA/cuDNN/cuBLAS errors, lost devices, GPU memory). */
const DEVICE_FAILURE =
  /\bCUDA\b|cudnn|cublas|cufft|curand|cudaError|CUDNN_STATUS|CUBLAS_STATUS|out of memory|device (lost|removed)|GPU|WebGPU|Vulkan|Dawn/i;

/**
 * A session error caused by its GPU: `device_unavailable` (a server fault, 503) naming the device,
 * rather than `model_error` blaming the part. Undefined when the session runs on CPU only or the
 * message does not speak of the device.
 */
export function deviceFailure(providers: readonly ExecutionProvider[], message: string): PixelsError | undefined {
  const gpu = providers.find((provider) => providerLabel(provider) !== 'cpu');
  if (gpu === undefined || !DEVICE_FAILURE.test(message)) return undefined;
  return new PixelsError(
    'device_unavailable',
    `The ${providerLabel(gpu)} device failed (${message.split('\n')[0].trim()}), so the edit did not run; ` +
      "check that GPU (nvidia-smi, 'pixels models devices') and retry.",
  );
}

/** The options onnxruntime-node is given for one session: the providers in order (a GPU's deviceId with it), threads, denormals. */
export function ortSessionOptions(options: SessionOptions): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: options.providers.map((provider) =>
      typeof provider === 'string' ? provider : ({ ...provider } as ort.InferenceSession.ExecutionProviderConfig),
    ),
    intraOpNumThreads: options.intraOpThreads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // Denormals are flushed to zero: the built-in denoiser's softmax underflows into them on
    // high-contrast textures, which made its calls ~25% slower on CPU. Spinning threads burn
    // cores that other workers and the HTTP thread share.
    extra: { session: { set_denormal_as_zero: '1', intra_op: { allow_spinning: '0' } } },
  };
}

/** Turns onnxruntime's load errors into one that names the file and the fix. */
function loadError(path: string, error: unknown, providers: readonly ExecutionProvider[]): PixelsError {
  const message = error instanceof Error ? error.message : String(error);
  const onDevice = deviceFailure(providers, message);
  if (onDevice) return onDevice;
  let fix = 'download the part again (pixels models pull resumes and verifies), or check it with pixels models verify.';
  if (/protobuf parsing failed|invalid protobuf|ModelProto/i.test(message))
    fix = `the file is corrupt or truncated; ${fix}`;
  else if (/external data/i.test(message)) fix = `its external weights file is missing or incomplete; ${fix}`;
  return new PixelsError(
    'model_error',
    `${path}: onnxruntime cannot load this part (${message.split('\n')[0]}); ${fix}`,
  );
}

/** Opens an ONNX file by path, so external data next to it resolves whatever its name. */
export async function openSession(path: string, options: SessionOptions): Promise<ModelSession> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(path, ortSessionOptions(options));
  } catch (error) {
    throw loadError(path, error, options.providers);
  }
  const inputs = session.inputMetadata.map((metadata) => valueInfo(path, metadata));
  const outputs = session.outputMetadata.map((metadata) => valueInfo(path, metadata));
  const stats = { runs: 0, milliseconds: 0 };
  return {
    path,
    inputs,
    outputs,
    stats,
    prepare(name, feed) {
      const info = inputs.find((input) => input.name === name);
      if (!info) throw new Error(`${path}: no input '${name}' to prepare a value for`);
      const value: PreparedOrtTensor = { shape: [...feedShape(feed)], tensor: toOrtTensor(info, feed) };
      return { kind: 'prepared', value };
    },
    async run(feeds) {
      const ortFeeds: Record<string, ort.Tensor> = {};
      for (const info of inputs) {
        const feed = feeds[info.name];
        if (!feed) throw new Error(`${path}: no value for input '${info.name}'`);
        checkFeedShape(path, info, feedShape(feed));
        ortFeeds[info.name] = toOrtTensor(info, feed);
      }
      let results: ort.InferenceSession.ReturnType;
      const startedAt = performance.now();
      try {
        // Failures come back as the error below, with the file named; onnxruntime need not print them too.
        results = await session.run(ortFeeds, { logSeverityLevel: 4 });
      } catch (error) {
        const message = (error as Error).message;
        throw (
          deviceFailure(options.providers, message) ??
          new PixelsError('model_error', `${path}: onnxruntime failed to run this part (${message.split('\n')[0]})`)
        );
      } finally {
        stats.runs++;
        stats.milliseconds += performance.now() - startedAt;
      }
      const out: Record<string, Tensor> = {};
      for (const [name, value] of Object.entries(results)) out[name] = fromOrtTensor(value as ort.Tensor);
      return out;
    },
    release: () => session.release(),
  };
}

/** The folder holding onnxruntime-node's native libraries, where its install script puts the CUDA provider. */
export function runtimeLibraryFolder(): string {
  const entry = createRequire(import.meta.url).resolve('onnxruntime-node');
  return join(dirname(entry), '..', 'bin', 'napi-v6', platform(), arch());
}

/** The shared libraries a provider needs beside onnxruntime (CUDA's are not in the npm package). */
export const PROVIDER_LIBRARIES: Readonly<Record<string, readonly string[]>> = Object.freeze({
  cuda: ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so'],
  tensorrt: ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_tensorrt.so'],
});

/** The provider libraries missing from `runtimeLibraryFolder()` (Linux names; empty elsewhere). */
export function missingProviderLibraries(provider: string): string[] {
  if (platform() !== 'linux') return [];
  const folder = runtimeLibraryFolder();
  return (PROVIDER_LIBRARIES[provider] ?? []).filter((library) => !existsSync(join(folder, library)));
}

/** Execution providers this onnxruntime build knows, and whether each ships in the package. */
export function knownProviders(): { name: string; bundled: boolean }[] {
  return ort.listSupportedBackends().map(({ name, bundled }) => ({ name, bundled }));
}

let probeModel: Uint8Array | undefined;

/** Tries to start `provider` (on its GPU) with a one-node model and run it; resolves to the reason it cannot, or undefined when it works. */
export async function probeProvider(provider: ExecutionProvider): Promise<string | undefined> {
  if (!probeModel) {
    const graph = new GraphBuilder('provider_probe');
    graph.input('x', 'float32', [1]);
    graph.op('Identity', ['x'], {}, { outputs: ['y'] });
    graph.output('y', 'float32', [1]);
    probeModel = serializeModel(createModel(graph.build())).model;
  }
  try {
    const session = await ort.InferenceSession.create(probeModel, {
      ...ortSessionOptions({ providers: [provider], intraOpThreads: 1 }),
      logSeverityLevel: 4,
    });
    await session.run({ x: new ort.Tensor('float32', new Float32Array([1]), [1]) });
    await session.release();
    return undefined;
  } catch (error) {
    return (error instanceof Error ? error.message : String(error)).split('\n')[0].trim();
  }
}
