/** Small helpers shared by the tiny-model graphs: seeded weights and fp16 input/output wrapping. */
import { GraphBuilder } from '@pixels/server/onnx/writer/index.ts';

/** Float I/O of an exported part: fp32, or fp16 (Olive, `--fp16` exports) with the math in fp32 inside. */
export type FloatType = 'float32' | 'float16';

/** Deterministic uniform values in [-scale, scale] (mulberry32), so generated models are reproducible. */
export function seededValues(seed: number, count: number, scale: number): Float32Array {
  let state = seed >>> 0;
  const values = new Float32Array(count);
  for (let index = 0; index < count; index++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const unit = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    values[index] = (unit * 2 - 1) * scale;
  }
  return values;
}

/** Declares a float input of the part's I/O type and returns it as float32 for the math inside. */
export function floatInput(
  graph: GraphBuilder,
  name: string,
  type: FloatType,
  shape: readonly (number | string)[],
): string {
  graph.input(name, type, shape);
  return type === 'float32' ? name : graph.op('Cast', [name], { to: { kind: 'int', value: 1 } });
}

/** Declares `value` (float32) as an output of the part's I/O type under `name`. */
export function floatOutput(
  graph: GraphBuilder,
  value: string,
  name: string,
  type: FloatType,
  shape: readonly (number | string)[],
): void {
  const output =
    type === 'float32'
      ? graph.op('Identity', [value], {}, { outputs: [name] })
      : graph.op('Cast', [value], { to: { kind: 'int', value: 10 } }, { outputs: [name] });
  graph.output(output, type, shape);
}

export { GraphBuilder };
