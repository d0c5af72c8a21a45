import { attribute, type GraphBuilder, ONNX_DATA_TYPE } from '../../onnx/writer/index.ts';

/**
 * Appends ᾱ(t) for a float timestep [B] and returns it as [B,1,1,1]. Integer timesteps read the
 * table exactly; fractional ones (Euler-family schedulers) interpolate log σ² = log((1−ᾱ)/ᾱ)
 * linearly between neighbours, which is how those schedulers map σ to a fractional t.
 */
export function addAlphaLookup(graph: GraphBuilder, timestep: string, alphasCumprod: string, steps: number): string {
  const clamped = graph.op('Clip', [timestep, graph.scalar(0), graph.scalar(steps - 1)]);
  const lower = graph.op('Floor', [clamped]);
  const upper = graph.op('Ceil', [clamped]);
  const fraction = graph.op('Sub', [clamped, lower]);
  const gather = (index: string) =>
    graph.op('Gather', [alphasCumprod, graph.op('Cast', [index], { to: attribute.int(ONNX_DATA_TYPE.int64) })]);
  const logVarianceRatio = (alpha: string) =>
    graph.op('Sub', [graph.op('Log', [graph.op('Sub', [graph.scalar(1), alpha])]), graph.op('Log', [alpha])]);
  const lowerAlpha = gather(lower);
  const lowerRatio = logVarianceRatio(lowerAlpha);
  const upperRatio = logVarianceRatio(gather(upper));
  const ratio = graph.op('Add', [lowerRatio, graph.op('Mul', [fraction, graph.op('Sub', [upperRatio, lowerRatio])])]);
  // ᾱ = 1 / (1 + σ²) = sigmoid(−log σ²); integer timesteps take the table entry itself, bit for bit.
  const interpolated = graph.op('Sigmoid', [graph.op('Neg', [ratio])]);
  const isInteger = graph.op('Equal', [fraction, graph.scalar(0)]);
  const alpha = graph.op('Where', [isInteger, lowerAlpha, interpolated]);
  return graph.op('Reshape', [alpha, graph.int64s([-1, 1, 1, 1])]);
}
