/** A dependency-free ONNX model writer: build graphs in TypeScript, save them for onnxruntime. */

export { ELEMENT_BYTES, ONNX_DATA_TYPE } from '../onnx-proto.ts';
export { attribute } from './attributes.ts';
export { createModel, DEFAULT_IR_VERSION, DEFAULT_OPSET, type ModelOptions } from './create-model.ts';
export { GraphBuilder, type NodeOptions } from './graph-builder.ts';
export type {
  Attributes,
  AttributeValue,
  Dimension,
  ElementType,
  GraphValue,
  ModelValue,
  NodeValue,
  TensorValue,
  ValueInfo,
} from './onnx-model.ts';
export { type ExternalDataOptions, type SerializedModel, serializeModel } from './serialize-model.ts';
export { createTensor, type TensorElements } from './tensor-value.ts';
export { writeModel } from './write-model.ts';
