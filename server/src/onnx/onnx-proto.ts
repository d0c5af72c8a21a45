/**
 * The numbers of onnx/onnx.proto that the reader and the writer share: message field numbers,
 * `TensorProto.DataType` codes and element sizes. One table, so what we write is what we read.
 */

/** Field numbers of the messages we read or write, by message. */
export const FIELDS = Object.freeze({
  model: Object.freeze({
    irVersion: 1,
    producerName: 2,
    producerVersion: 3,
    docString: 6,
    graph: 7,
    opsetImport: 8,
    metadataProps: 14,
  }),
  graph: Object.freeze({ node: 1, name: 2, initializer: 5, input: 11, output: 12 }),
  node: Object.freeze({ input: 1, output: 2, name: 3, opType: 4, attribute: 5, domain: 7 }),
  attribute: Object.freeze({ name: 1, f: 2, i: 3, s: 4, t: 5, floats: 7, ints: 8, strings: 9, type: 20 }),
  tensor: Object.freeze({ dims: 1, dataType: 2, name: 8, rawData: 9, externalData: 13, dataLocation: 14 }),
  valueInfo: Object.freeze({ name: 1, type: 2 }),
  /** TypeProto: only `tensor_type` is modelled. */
  type: Object.freeze({ tensorType: 1 }),
  /** TypeProto.Tensor. */
  tensorType: Object.freeze({ elemType: 1, shape: 2 }),
  shape: Object.freeze({ dim: 1 }),
  dimension: Object.freeze({ dimValue: 1, dimParam: 2 }),
  operatorSet: Object.freeze({ domain: 1, version: 2 }),
  /** StringStringEntryProto: external-data entries and metadata_props. */
  stringEntry: Object.freeze({ key: 1, value: 2 }),
});

/** `AttributeProto.AttributeType` codes. */
export const ATTRIBUTE_TYPE = Object.freeze({
  float: 1,
  int: 2,
  string: 3,
  tensor: 4,
  floats: 6,
  ints: 7,
  strings: 8,
});

/** `TensorProto.DataLocation`: the tensor's bytes are in a side file. */
export const DATA_LOCATION_EXTERNAL = 1;

/** `TensorProto.DataType` codes, named like onnxruntime's tensor types. */
export const ONNX_DATA_TYPE = Object.freeze({
  float32: 1,
  uint8: 2,
  int8: 3,
  uint16: 4,
  int16: 5,
  int32: 6,
  int64: 7,
  string: 8,
  bool: 9,
  float16: 10,
  float64: 11,
  uint32: 12,
  uint64: 13,
  bfloat16: 16,
});

/** An ONNX tensor element type, by onnxruntime's name. */
export type OnnxElementType = keyof typeof ONNX_DATA_TYPE;
/** The element types of a fixed size (all but 'string'). */
export type FixedSizeElementType = Exclude<OnnxElementType, 'string'>;

/** Bytes per element of every fixed-size type. */
export const ELEMENT_BYTES: Readonly<Record<FixedSizeElementType, number>> = Object.freeze({
  float32: 4,
  uint8: 1,
  int8: 1,
  uint16: 2,
  int16: 2,
  int32: 4,
  int64: 8,
  bool: 1,
  float16: 2,
  float64: 8,
  uint32: 4,
  uint64: 8,
  bfloat16: 2,
});

const TYPE_BY_CODE: ReadonlyMap<number, OnnxElementType> = new Map(
  Object.entries(ONNX_DATA_TYPE).map(([name, code]) => [code, name as OnnxElementType]),
);

/** The element type of a `TensorProto.DataType` code; undefined for a code outside the table. */
export function elementTypeOf(code: number): OnnxElementType | undefined {
  return TYPE_BY_CODE.get(code);
}

/** Bytes per element of `type`; undefined for 'string' or no type. */
export function elementBytes(type: OnnxElementType | undefined): number | undefined {
  return type === undefined || type === 'string' ? undefined : ELEMENT_BYTES[type];
}
