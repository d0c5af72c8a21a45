/** The one module that imports onnxruntime-node: sessions in, plain tensors out. */
import * as ort from 'onnxruntime-node';
import type { Tensor } from '../engine/tensor.ts';
import { float16ToFloat32, float32ToFloat16 } from './float16.ts';

export type TensorType = 'float32' | 'float16' | 'int32' | 'int64';

export interface ValueInfo {
  name: string;
  type: TensorType;
  /** Fixed sizes as numbers, symbolic ones as their names. */
  shape: readonly (number | string)[];
}

/** A value fed to a session: floats are converted to the input's declared type on the way in. */
export type Feed = { kind: 'float'; tensor: Tensor } | { kind: 'int'; data: readonly number[]; shape: readonly number[] };

export interface SessionOptions {
  /** Execution providers in order of preference, e.g. ['cuda', 'cpu']. */
  providers: readonly string[];
  /** Threads for one operator; 0 lets onnxruntime choose (one per core). */
  intraOpThreads: number;
}

export interface ModelSession {
  readonly path: string;
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  run(feeds: Record<string, Feed>): Promise<Record<string, Tensor>>;
  release(): Promise<void>;
}

const SUPPORTED_TYPES: readonly string[] = ['float32', 'float16', 'int32', 'int64'];

function valueInfo(path: string, metadata: ort.InferenceSession.ValueMetadata): ValueInfo {
  if (!metadata.isTensor || !SUPPORTED_TYPES.includes(metadata.type)) {
    const type = metadata.isTensor ? metadata.type : 'a non-tensor value';
    throw new Error(`${path}: '${metadata.name}' is ${type}; only float32, float16, int32 and int64 tensors are supported`);
  }
  return { name: metadata.name, type: metadata.type as TensorType, shape: metadata.shape };
}

function toOrtTensor(info: ValueInfo, feed: Feed): ort.Tensor {
  if (feed.kind === 'int') {
    const dims = [...feed.shape];
    if (info.type === 'int64') return new ort.Tensor('int64', BigInt64Array.from(feed.data, (v) => BigInt(v)), dims);
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
      return new ort.Tensor('int64', BigInt64Array.from(data, (v) => BigInt(Math.round(v))), dims);
    case 'int32':
      return new ort.Tensor('int32', Int32Array.from(data, (v) => Math.round(v)), dims);
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

/** Opens an ONNX file by path, so external data next to it resolves whatever its name. */
export async function openSession(path: string, options: SessionOptions): Promise<ModelSession> {
  const session = await ort.InferenceSession.create(path, {
    executionProviders: [...options.providers],
    intraOpNumThreads: options.intraOpThreads,
    graphOptimizationLevel: 'all',
  });
  const inputs = session.inputMetadata.map((metadata) => valueInfo(path, metadata));
  const outputs = session.outputMetadata.map((metadata) => valueInfo(path, metadata));
  return {
    path,
    inputs,
    outputs,
    async run(feeds) {
      const ortFeeds: Record<string, ort.Tensor> = {};
      for (const info of inputs) {
        const feed = feeds[info.name];
        if (!feed) throw new Error(`${path}: no value for input '${info.name}'`);
        ortFeeds[info.name] = toOrtTensor(info, feed);
      }
      const results = await session.run(ortFeeds);
      const out: Record<string, Tensor> = {};
      for (const [name, value] of Object.entries(results)) out[name] = fromOrtTensor(value as ort.Tensor);
      return out;
    },
    release: () => session.release(),
  };
}
