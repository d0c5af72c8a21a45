/**
 * Plain-data mirrors of the ONNX protobuf messages we write (onnx/onnx.proto, IR version 8).
 * Only the fields a model needs are modelled; everything else is left at its default.
 */

import type { OnnxElementType } from '../onnx-proto.ts';

/** Tensor element types we can write, named like onnxruntime's tensor types. */
export type ElementType = Extract<
  OnnxElementType,
  'float32' | 'float16' | 'float64' | 'int8' | 'uint8' | 'int32' | 'int64' | 'bool'
>;

/** A dimension of a declared shape: a fixed size, or a symbolic name such as 'batch'. */
export type Dimension = number | string;

/** A constant tensor (initializer or attribute); `data` holds its little-endian element bytes. */
export interface TensorValue {
  readonly name: string;
  readonly type: ElementType;
  readonly dims: readonly number[];
  readonly data: Uint8Array;
}

export type AttributeValue =
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'int'; readonly value: number | bigint }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'tensor'; readonly value: TensorValue }
  | { readonly kind: 'floats'; readonly value: readonly number[] }
  | { readonly kind: 'ints'; readonly value: readonly (number | bigint)[] }
  | { readonly kind: 'strings'; readonly value: readonly string[] };

export type Attributes = Readonly<Record<string, AttributeValue>>;

export interface NodeValue {
  readonly opType: string;
  /** Value names; '' skips an optional input. */
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly name: string;
  /** '' for the default ONNX domain. */
  readonly domain: string;
  readonly attributes: Attributes;
}

/** A graph input or output: name, element type and shape. */
export interface ValueInfo {
  readonly name: string;
  readonly type: ElementType;
  readonly shape: readonly Dimension[];
}

export interface GraphValue {
  readonly name: string;
  /** Topologically sorted, as ONNX requires. */
  readonly nodes: readonly NodeValue[];
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  readonly initializers: readonly TensorValue[];
}

export interface OperatorSetImport {
  readonly domain: string;
  readonly version: number;
}

export interface ModelValue {
  readonly irVersion: number;
  readonly opsetImports: readonly OperatorSetImport[];
  readonly producerName: string;
  readonly producerVersion: string;
  readonly docString: string;
  /** `metadata_props`, visible to runtimes as custom metadata. */
  readonly metadata: Readonly<Record<string, string>>;
  readonly graph: GraphValue;
}
