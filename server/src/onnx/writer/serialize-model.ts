import { ATTRIBUTE_TYPE, DATA_LOCATION_EXTERNAL, FIELDS, ONNX_DATA_TYPE } from '../onnx-proto.ts';
import type { AttributeValue, GraphValue, ModelValue, NodeValue, TensorValue, ValueInfo } from './onnx-model.ts';
import { ProtobufWriter } from './protobuf-writer.ts';

/** Where and how large initializers leave the .onnx file. */
export interface ExternalDataOptions {
  /** The side file's name, relative to the .onnx file (e.g. 'model.onnx_data'). */
  location: string;
  /** Initializers with fewer bytes stay inline; default 1024 (the `onnx` package's threshold). */
  minBytes?: number;
  /** Each tensor starts at a multiple of this many bytes; default 64 (cache-line aligned for the runtime). */
  alignment?: number;
}

export interface SerializedModel {
  /** The ModelProto bytes (the .onnx file). */
  model: Uint8Array;
  /** The side file's bytes, or null when no initializer left the model. */
  externalData: Uint8Array | null;
}

const { model: MODEL, graph: GRAPH, node: NODE, attribute: ATTRIBUTE, tensor: TENSOR } = FIELDS;
const STRING_ENTRY = FIELDS.stringEntry;
const textEncoder = new TextEncoder();

/**
 * Encodes a model as ONNX protobuf bytes. With `externalData`, large initializers are written to a
 * side buffer and referenced by location/offset/length entries, as exporters do for weights over
 * protobuf's 2 GB limit. Output is a pure function of the input: same model, same bytes.
 */
export function serializeModel(model: ModelValue, externalData?: ExternalDataOptions): SerializedModel {
  const sideFile = externalData ? new SideFile(externalData) : null;
  const writer = new ProtobufWriter()
    .varint(MODEL.irVersion, model.irVersion)
    .string(MODEL.producerName, model.producerName)
    .string(MODEL.producerVersion, model.producerVersion);
  if (model.docString !== '') writer.string(MODEL.docString, model.docString);
  writer.message(MODEL.graph, (graph) => writeGraph(graph, model.graph, sideFile));
  for (const opset of model.opsetImports) {
    writer.message(MODEL.opsetImport, (entry) =>
      entry.string(FIELDS.operatorSet.domain, opset.domain).varint(FIELDS.operatorSet.version, opset.version),
    );
  }
  for (const [key, value] of Object.entries(model.metadata)) {
    writer.message(MODEL.metadataProps, (entry) =>
      entry.string(STRING_ENTRY.key, key).string(STRING_ENTRY.value, value),
    );
  }
  return { model: writer.finish(), externalData: sideFile?.finish() ?? null };
}

function writeGraph(writer: ProtobufWriter, graph: GraphValue, sideFile: SideFile | null): void {
  for (const node of graph.nodes) writer.message(GRAPH.node, (entry) => writeNode(entry, node));
  writer.string(GRAPH.name, graph.name);
  for (const tensor of graph.initializers) {
    writer.message(GRAPH.initializer, (entry) => writeTensor(entry, tensor, sideFile));
  }
  for (const input of graph.inputs) writer.message(GRAPH.input, (entry) => writeValueInfo(entry, input));
  for (const output of graph.outputs) writer.message(GRAPH.output, (entry) => writeValueInfo(entry, output));
}

function writeNode(writer: ProtobufWriter, node: NodeValue): void {
  for (const input of node.inputs) writer.string(NODE.input, input);
  for (const output of node.outputs) writer.string(NODE.output, output);
  writer.string(NODE.name, node.name).string(NODE.opType, node.opType);
  for (const [name, value] of Object.entries(node.attributes)) {
    writer.message(NODE.attribute, (entry) => writeAttribute(entry, name, value));
  }
  if (node.domain !== '') writer.string(NODE.domain, node.domain);
}

function writeAttribute(writer: ProtobufWriter, name: string, attribute: AttributeValue): void {
  writer.string(ATTRIBUTE.name, name).varint(ATTRIBUTE.type, ATTRIBUTE_TYPE[attribute.kind]);
  switch (attribute.kind) {
    case 'float':
      writer.float(ATTRIBUTE.f, attribute.value);
      break;
    case 'int':
      writer.varint(ATTRIBUTE.i, attribute.value);
      break;
    case 'string':
      writer.string(ATTRIBUTE.s, attribute.value);
      break;
    case 'tensor':
      writer.message(ATTRIBUTE.t, (entry) => writeTensor(entry, attribute.value, null));
      break;
    case 'floats':
      for (const value of attribute.value) writer.float(ATTRIBUTE.floats, value);
      break;
    case 'ints':
      for (const value of attribute.value) writer.varint(ATTRIBUTE.ints, value);
      break;
    case 'strings':
      for (const value of attribute.value) writer.bytes(ATTRIBUTE.strings, textEncoder.encode(value));
      break;
  }
}

function writeTensor(writer: ProtobufWriter, tensor: TensorValue, sideFile: SideFile | null): void {
  for (const size of tensor.dims) writer.varint(TENSOR.dims, size);
  writer.varint(TENSOR.dataType, ONNX_DATA_TYPE[tensor.type]).string(TENSOR.name, tensor.name);
  const placement = sideFile?.place(tensor.data);
  if (placement === undefined) {
    writer.bytes(TENSOR.rawData, tensor.data);
    return;
  }
  const entries: [string, string][] = [
    ['location', placement.location],
    ['offset', String(placement.offset)],
    ['length', String(tensor.data.byteLength)],
  ];
  for (const [key, value] of entries) {
    writer.message(TENSOR.externalData, (entry) =>
      entry.string(STRING_ENTRY.key, key).string(STRING_ENTRY.value, value),
    );
  }
  writer.varint(TENSOR.dataLocation, DATA_LOCATION_EXTERNAL);
}

function writeValueInfo(writer: ProtobufWriter, info: ValueInfo): void {
  writer.string(FIELDS.valueInfo.name, info.name);
  writer.message(FIELDS.valueInfo.type, (type) =>
    type.message(FIELDS.type.tensorType, (tensorType) => {
      tensorType.varint(FIELDS.tensorType.elemType, ONNX_DATA_TYPE[info.type]);
      tensorType.message(FIELDS.tensorType.shape, (shape) => {
        for (const dimension of info.shape) {
          shape.message(FIELDS.shape.dim, (entry) => {
            if (typeof dimension === 'number') entry.varint(FIELDS.dimension.dimValue, dimension);
            else entry.string(FIELDS.dimension.dimParam, dimension);
          });
        }
      });
    }),
  );
}

/** Accumulates external tensor bytes at aligned offsets. */
class SideFile {
  private readonly chunks: Uint8Array[] = [];
  private length = 0;
  private readonly minBytes: number;
  private readonly alignment: number;
  readonly location: string;

  constructor(options: ExternalDataOptions) {
    this.location = options.location;
    this.minBytes = options.minBytes ?? 1024;
    this.alignment = options.alignment ?? 64;
    if (!Number.isInteger(this.alignment) || this.alignment < 1) {
      throw new Error(`serializeModel: externalData.alignment must be a positive integer, got ${this.alignment}`);
    }
  }

  /** Appends `data` if it is large enough to leave the model; returns where it went. */
  place(data: Uint8Array): { location: string; offset: number } | undefined {
    if (data.byteLength < this.minBytes) return undefined;
    const padding = (this.alignment - (this.length % this.alignment)) % this.alignment;
    if (padding > 0) this.chunks.push(new Uint8Array(padding));
    const offset = this.length + padding;
    this.chunks.push(data);
    this.length = offset + data.byteLength;
    return { location: this.location, offset };
  }

  finish(): Uint8Array | null {
    if (this.chunks.length === 0) return null;
    const out = new Uint8Array(this.length);
    let offset = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, offset);
      offset += chunk.byteLength;
    }
    return out;
  }
}
