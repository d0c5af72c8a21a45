import type {
  Attributes,
  Dimension,
  ElementType,
  GraphValue,
  NodeValue,
  TensorValue,
  ValueInfo,
} from './onnx-model.ts';
import { createTensor, type TensorElements } from './tensor-value.ts';

export interface NodeOptions {
  /** Output value names; default one generated name per output. */
  outputs?: readonly string[];
  /** How many outputs to generate names for when `outputs` is absent; default 1. */
  outputCount?: number;
  /** '' (default) for standard ONNX operators. */
  domain?: string;
}

/**
 * Builds one ONNX graph in topological order. Values are referred to by name; every method that
 * creates a value returns its name, so graphs read like ordinary code:
 * `const y = graph.op('Add', [x, graph.scalar(1)])`.
 */
export class GraphBuilder {
  private readonly nodes: NodeValue[] = [];
  private readonly inputs: ValueInfo[] = [];
  private readonly outputs: ValueInfo[] = [];
  private readonly initializers: TensorValue[] = [];
  private readonly defined = new Set<string>();
  private readonly nodeCounts = new Map<string, number>();

  constructor(readonly name: string) {}

  /** Declares a graph input; string dimensions are symbolic ('batch', 'height'). */
  input(name: string, type: ElementType, shape: readonly Dimension[]): string {
    this.define(name, 'input');
    this.inputs.push({ name, type, shape: [...shape] });
    return name;
  }

  /** Declares an existing value as a graph output with its type and shape. */
  output(name: string, type: ElementType, shape: readonly Dimension[]): void {
    if (!this.defined.has(name)) throw new Error(`GraphBuilder '${this.name}': output '${name}' is never produced`);
    this.outputs.push({ name, type, shape: [...shape] });
  }

  /** A named constant tensor stored with the weights (eligible for external data). */
  initializer(name: string, type: ElementType, dims: readonly number[], values: TensorElements): string {
    this.define(name, 'initializer');
    this.initializers.push(createTensor(name, type, dims, values));
    return name;
  }

  /** A scalar initializer with a generated name, for arithmetic on other values. */
  scalar(value: number, type: ElementType = 'float32'): string {
    return this.initializer(this.uniqueName(`scalar_${type}`), type, [], [value]);
  }

  /** A 1-D int64 initializer (shapes, axes, slice bounds). */
  int64s(values: readonly number[]): string {
    return this.initializer(this.uniqueName('int64s'), 'int64', [values.length], values);
  }

  /** A `Constant` node holding `values` (kept inside the .onnx file, like exporters' small constants). */
  constant(type: ElementType, dims: readonly number[], values: TensorElements): string {
    const output = this.uniqueName('constant');
    const value = createTensor(output, type, dims, values);
    return this.op('Constant', [], { value: { kind: 'tensor', value } }, { outputs: [output] });
  }

  /** Appends a node; its inputs must already exist. Returns its output names. */
  node(opType: string, inputs: readonly string[], attributes: Attributes = {}, options: NodeOptions = {}): string[] {
    const nodeName = this.uniqueName(opType);
    for (const input of inputs) {
      if (input !== '' && !this.defined.has(input)) {
        throw new Error(`GraphBuilder '${this.name}': ${opType} node '${nodeName}' reads '${input}' before it exists`);
      }
    }
    const outputs =
      options.outputs ?? Array.from({ length: options.outputCount ?? 1 }, (_, index) => `${nodeName}_output_${index}`);
    for (const output of outputs) this.define(output, `output of ${opType}`);
    this.nodes.push({
      opType,
      inputs: [...inputs],
      outputs: [...outputs],
      name: nodeName,
      domain: options.domain ?? '',
      attributes,
    });
    return [...outputs];
  }

  /** Appends a single-output node and returns the output's name. */
  op(opType: string, inputs: readonly string[], attributes: Attributes = {}, options: NodeOptions = {}): string {
    const outputs = this.node(opType, inputs, attributes, options);
    if (outputs.length !== 1)
      throw new Error(`GraphBuilder '${this.name}': op() makes one output; use node() for ${opType}`);
    return outputs[0];
  }

  build(): GraphValue {
    if (this.outputs.length === 0) throw new Error(`GraphBuilder '${this.name}': declare at least one output`);
    return {
      name: this.name,
      nodes: [...this.nodes],
      inputs: [...this.inputs],
      outputs: [...this.outputs],
      initializers: [...this.initializers],
    };
  }

  private define(name: string, role: string): void {
    if (name === '') throw new Error(`GraphBuilder '${this.name}': a ${role} needs a non-empty name`);
    if (this.defined.has(name))
      throw new Error(`GraphBuilder '${this.name}': value '${name}' (${role}) already exists`);
    this.defined.add(name);
  }

  /** `prefix_N` with N counting per prefix, so generated names are stable from run to run. */
  uniqueName(prefix: string): string {
    let count = this.nodeCounts.get(prefix) ?? 0;
    let name: string;
    do {
      name = `${prefix}_${count++}`;
    } while (this.defined.has(name));
    this.nodeCounts.set(prefix, count);
    return name;
  }
}
