import { float32ToFloat16 } from '../float16.ts';
import type { ElementType, TensorValue } from './onnx-model.ts';

/** Element values accepted for a tensor; plain numbers are converted to the tensor's type. */
export type TensorElements =
  | Float32Array
  | Float64Array
  | Int32Array
  | BigInt64Array
  | Uint16Array
  | Uint8Array
  | Int8Array
  | readonly number[];

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  // ONNX raw_data is little-endian; we copy typed-array bytes as they lie in memory.
  throw new Error('onnx-writer: big-endian hosts are not supported');
}

/**
 * A constant tensor of `type` and `dims` from `values`. Typed arrays must match the type
 * (float16 takes its bit patterns as a Uint16Array, or float values to convert; bool takes 0/1 bytes).
 */
export function createTensor(
  name: string,
  type: ElementType,
  dims: readonly number[],
  values: TensorElements,
): TensorValue {
  for (const size of dims) {
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new Error(`createTensor '${name}': dims must be non-negative integers, got [${dims.join(', ')}]`);
    }
  }
  const count = dims.reduce((product, size) => product * size, 1);
  if (values.length !== count) {
    throw new Error(`createTensor '${name}': ${values.length} values do not fill dims [${dims.join(', ')}] (${count})`);
  }
  const typed = toTypedArray(name, type, values);
  const bytes = new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength).slice();
  return { name, type, dims: [...dims], data: bytes };
}

function toTypedArray(name: string, type: ElementType, values: TensorElements): ArrayBufferView {
  if (values instanceof NATIVE_ARRAY[type]) return values as ArrayBufferView;
  const isPlain = Array.isArray(values);
  const isFloat = isPlain || values instanceof Float32Array || values instanceof Float64Array;
  const numbers = values as ArrayLike<number>;
  if (type === 'float32' && isFloat) return Float32Array.from(numbers);
  if (type === 'float64' && isFloat) return Float64Array.from(numbers);
  if (type === 'float16' && isFloat) return float32ToFloat16(Float32Array.from(numbers));
  if (type === 'int64' && (isPlain || values instanceof Int32Array)) return toBigInt64(name, numbers);
  if (isPlain && type === 'int32') return Int32Array.from(numbers);
  if (isPlain && type === 'int8') return Int8Array.from(numbers);
  if (isPlain && (type === 'uint8' || type === 'bool')) return Uint8Array.from(numbers);
  throw new Error(
    `createTensor '${name}': a ${type} tensor takes ${NATIVE_ARRAY[type].name} or numbers, got ${values.constructor.name}`,
  );
}

/** The typed array whose bytes are the ONNX element bytes of each type (float16: bit patterns). */
const NATIVE_ARRAY = {
  float32: Float32Array,
  float64: Float64Array,
  float16: Uint16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  int8: Int8Array,
  uint8: Uint8Array,
  bool: Uint8Array,
} as const;

function toBigInt64(name: string, values: ArrayLike<number>): BigInt64Array {
  const out = new BigInt64Array(values.length);
  for (let index = 0; index < values.length; index++) {
    const value = values[index];
    if (!Number.isSafeInteger(value)) throw new Error(`createTensor '${name}': int64 value ${value} is not an integer`);
    out[index] = BigInt(value);
  }
  return out;
}
