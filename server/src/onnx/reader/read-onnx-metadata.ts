/**
 * The cheap look at an ONNX file: its graph inputs and outputs and the external data it needs,
 * read from the protobuf without onnxruntime and without touching the weights. Listing models and
 * `pixels models verify` use it, so neither ever loads gigabytes.
 */
import { open } from 'node:fs/promises';
import { PixelsError } from '@pixels/shared';
import { DATA_LOCATION_EXTERNAL, elementBytes, elementTypeOf, FIELDS, type OnnxElementType } from '../onnx-proto.ts';
import {
  FileMessageReader,
  FileWindow,
  MessageBytes,
  ProtobufFormatError,
  WIRE_LENGTH_DELIMITED,
} from './protobuf-reader.ts';

const { model: MODEL, graph: GRAPH, tensor: TENSOR } = FIELDS;
const GRAPH_FIELDS_READ: readonly number[] = [GRAPH.initializer, GRAPH.input, GRAPH.output];

/** A graph input or output; dimensions are sizes, symbolic names, or '?' when the file leaves them open. */
export interface GraphValueInfo {
  name: string;
  /** onnxruntime's name for the element type ('float32', 'int64', ...), or 'non-tensor'. */
  type: string;
  shape: (number | string)[];
}

/** One side file the weights live in, and how many of its bytes the graph reads. */
export interface ExternalDataUse {
  /** As written in the model, relative to the .onnx file's folder. */
  location: string;
  /** The largest offset + length any tensor reads: the file must be at least this long. */
  requiredBytes: number;
  tensors: number;
}

export interface OnnxMetadata {
  path: string;
  irVersion: number;
  /** The default-domain opset, 0 when absent. */
  opset: number;
  producer: string;
  inputs: GraphValueInfo[];
  outputs: GraphValueInfo[];
  externalData: ExternalDataUse[];
}

const GIT_LFS_POINTER = 'version https://git-lfs';

function parseValueInfo(bytes: Uint8Array): GraphValueInfo {
  const message = new MessageBytes(bytes);
  const info: GraphValueInfo = { name: '', type: 'non-tensor', shape: [] };
  while (!message.done) {
    const { field, wireType } = message.header();
    if (field === FIELDS.valueInfo.name && wireType === WIRE_LENGTH_DELIMITED) info.name = message.string();
    else if (field === FIELDS.valueInfo.type && wireType === WIRE_LENGTH_DELIMITED) {
      parseType(message.lengthDelimited(), info);
    } else message.skip(wireType);
  }
  return info;
}

/** TypeProto → tensor_type (1) → elem_type (1), shape (2) → dim (1) → dim_value (1) | dim_param (2). */
function parseType(bytes: Uint8Array, info: GraphValueInfo): void {
  const type = new MessageBytes(bytes);
  while (!type.done) {
    const { field, wireType } = type.header();
    if (field !== FIELDS.type.tensorType || wireType !== WIRE_LENGTH_DELIMITED) {
      type.skip(wireType);
      continue;
    }
    const tensor = new MessageBytes(type.lengthDelimited());
    while (!tensor.done) {
      const entry = tensor.header();
      if (entry.field === FIELDS.tensorType.elemType && entry.wireType !== WIRE_LENGTH_DELIMITED) {
        const code = tensor.varint();
        info.type = elementTypeOf(code) ?? `element type ${code}`;
      } else if (entry.field === FIELDS.tensorType.shape && entry.wireType === WIRE_LENGTH_DELIMITED) {
        info.shape = parseShape(tensor.lengthDelimited());
      } else tensor.skip(entry.wireType);
    }
  }
}

function parseShape(bytes: Uint8Array): (number | string)[] {
  const shape = new MessageBytes(bytes);
  const dims: (number | string)[] = [];
  while (!shape.done) {
    const { field, wireType } = shape.header();
    if (field !== FIELDS.shape.dim || wireType !== WIRE_LENGTH_DELIMITED) {
      shape.skip(wireType);
      continue;
    }
    const dimension = new MessageBytes(shape.lengthDelimited());
    let value: number | string = '?';
    while (!dimension.done) {
      const entry = dimension.header();
      if (entry.field === FIELDS.dimension.dimValue && entry.wireType !== WIRE_LENGTH_DELIMITED) {
        value = dimension.varint();
      } else if (entry.field === FIELDS.dimension.dimParam && entry.wireType === WIRE_LENGTH_DELIMITED) {
        value = dimension.string();
      } else dimension.skip(entry.wireType);
    }
    dims.push(value);
  }
  return dims;
}

interface InitializerHeader {
  name: string;
  external?: { location: string; end: number };
}

/** Reads an initializer's name and external-data entries, seeking over any inline bytes. */
async function parseInitializer(reader: FileMessageReader): Promise<InitializerHeader> {
  const header: InitializerHeader = { name: '' };
  const dims: number[] = [];
  let elementType: OnnxElementType | undefined;
  let isExternal = false;
  const entries: Record<string, string> = {};
  while (!reader.done) {
    const { field, wireType } = await reader.header();
    if (field === TENSOR.dims) {
      if (wireType === WIRE_LENGTH_DELIMITED) dims.push(...MessageBytes.packedVarints(await reader.lengthDelimited()));
      else dims.push(await reader.varint());
    } else if (field === TENSOR.dataType && wireType !== WIRE_LENGTH_DELIMITED) {
      elementType = elementTypeOf(await reader.varint());
    } else if (field === TENSOR.name && wireType === WIRE_LENGTH_DELIMITED) {
      header.name = new TextDecoder().decode(await reader.lengthDelimited());
    } else if (field === TENSOR.externalData && wireType === WIRE_LENGTH_DELIMITED) {
      const entry = new MessageBytes(await reader.lengthDelimited());
      let key = '';
      let value = '';
      while (!entry.done) {
        const part = entry.header();
        if (part.field === FIELDS.stringEntry.key) key = entry.string();
        else if (part.field === FIELDS.stringEntry.value) value = entry.string();
        else entry.skip(part.wireType);
      }
      entries[key] = value;
    } else if (field === TENSOR.dataLocation && wireType !== WIRE_LENGTH_DELIMITED) {
      isExternal = (await reader.varint()) === DATA_LOCATION_EXTERNAL;
    } else await reader.skip(wireType);
  }
  if (isExternal && entries.location) {
    const offset = Number(entries.offset ?? 0);
    const count = dims.reduce((product, size) => product * size, 1);
    const length = entries.length !== undefined ? Number(entries.length) : count * (elementBytes(elementType) ?? 0);
    header.external = { location: entries.location, end: offset + length };
  }
  return header;
}

/** Reads the graph's inputs, outputs and external data needs; skips nodes and inline weights. */
async function parseGraph(reader: FileMessageReader, metadata: OnnxMetadata): Promise<void> {
  const initializerNames = new Set<string>();
  const external = new Map<string, ExternalDataUse>();
  const inputs: GraphValueInfo[] = [];
  while (!reader.done) {
    const { field, wireType } = await reader.header();
    if (wireType !== WIRE_LENGTH_DELIMITED || !GRAPH_FIELDS_READ.includes(field)) {
      await reader.skip(wireType);
      continue;
    }
    if (field === GRAPH.initializer) {
      const initializer = await parseInitializer(reader.child(await reader.varint()));
      initializerNames.add(initializer.name);
      if (initializer.external) {
        const { location, end } = initializer.external;
        const use = external.get(location) ?? { location, requiredBytes: 0, tensors: 0 };
        use.requiredBytes = Math.max(use.requiredBytes, end);
        use.tensors++;
        external.set(location, use);
      }
    } else {
      const info = parseValueInfo(await reader.lengthDelimited());
      (field === GRAPH.input ? inputs : metadata.outputs).push(info);
    }
  }
  // Before IR 4, weights were also listed as graph inputs; onnxruntime does not ask for them.
  metadata.inputs = inputs.filter((input) => !initializerNames.has(input.name));
  metadata.externalData = [...external.values()];
}

async function parseModel(path: string, file: FileWindow, metadata: OnnxMetadata): Promise<boolean> {
  const reader = new FileMessageReader(file, 0, file.size);
  let hasGraph = false;
  while (!reader.done) {
    const { field, wireType } = await reader.header();
    if (field === MODEL.irVersion && wireType !== WIRE_LENGTH_DELIMITED) metadata.irVersion = await reader.varint();
    else if (field === MODEL.producerName && wireType === WIRE_LENGTH_DELIMITED) {
      metadata.producer = new TextDecoder().decode(await reader.lengthDelimited());
    } else if (field === MODEL.opsetImport && wireType === WIRE_LENGTH_DELIMITED) {
      const opset = new MessageBytes(await reader.lengthDelimited());
      let domain = '';
      let version = 0;
      while (!opset.done) {
        const entry = opset.header();
        if (entry.field === FIELDS.operatorSet.domain) domain = opset.string();
        else if (entry.field === FIELDS.operatorSet.version) version = opset.varint();
        else opset.skip(entry.wireType);
      }
      if (domain === '' || domain === 'ai.onnx') metadata.opset = version;
    } else if (field === MODEL.graph && wireType === WIRE_LENGTH_DELIMITED) {
      await parseGraph(reader.child(await reader.varint()), metadata);
      hasGraph = true;
    } else await reader.skip(wireType);
  }
  if (metadata.irVersion === 0) throw new ProtobufFormatError(`${path} has no ir_version`);
  return hasGraph;
}

/**
 * Reads an ONNX file's interface and external-data needs.
 * @throws PixelsError('model_error') naming the file when it is missing, a Git LFS pointer, or not a valid ONNX model
 */
export async function readOnnxMetadata(path: string): Promise<OnnxMetadata> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new PixelsError(
      'model_error',
      `${path}: cannot open the ONNX file (${code}); check that it exists and is readable.`,
    );
  }
  try {
    const { size } = await handle.stat();
    const head = new Uint8Array(Math.min(64, size));
    await handle.read(head, 0, head.length, 0);
    if (new TextDecoder().decode(head).startsWith(GIT_LFS_POINTER)) {
      throw new PixelsError(
        'model_error',
        `${path} is a Git LFS pointer, not the model: fetch the real file (git lfs pull, or pixels models pull).`,
      );
    }
    const metadata: OnnxMetadata = {
      path,
      irVersion: 0,
      opset: 0,
      producer: '',
      inputs: [],
      outputs: [],
      externalData: [],
    };
    let hasGraph: boolean;
    try {
      hasGraph = size > 0 && (await parseModel(path, new FileWindow(handle, size), metadata));
    } catch (error) {
      if (!(error instanceof ProtobufFormatError)) throw error;
      throw new PixelsError(
        'model_error',
        `${path} is not a valid ONNX model (${error.message}); the file is corrupt or truncated: download it again.`,
      );
    }
    if (!hasGraph) {
      throw new PixelsError('model_error', `${path} is not a valid ONNX model (it has no graph); download it again.`);
    }
    return metadata;
  } finally {
    await handle.close();
  }
}
