import type { GraphValue, ModelValue, OperatorSetImport } from './onnx-model.ts';

/** IR version 8 and opset 17: what current exporters emit and every onnxruntime ≥ 1.14 reads. */
export const DEFAULT_IR_VERSION = 8;
export const DEFAULT_OPSET = 17;

export interface ModelOptions {
  /** Default 8. */
  irVersion?: number;
  /** Default [{ domain: '', version: 17 }]. */
  opsetImports?: readonly OperatorSetImport[];
  /** Default 'pixels'. */
  producerName?: string;
  /** Default ''. */
  producerVersion?: string;
  docString?: string;
  metadata?: Readonly<Record<string, string>>;
}

/** Wraps a graph into a model with the given (or default) versions. */
export function createModel(graph: GraphValue, options: ModelOptions = {}): ModelValue {
  return {
    irVersion: options.irVersion ?? DEFAULT_IR_VERSION,
    opsetImports: options.opsetImports ?? [{ domain: '', version: DEFAULT_OPSET }],
    producerName: options.producerName ?? 'pixels',
    producerVersion: options.producerVersion ?? '',
    docString: options.docString ?? '',
    metadata: options.metadata ?? {},
    graph,
  };
}
