import { attribute, GraphBuilder, type GraphValue } from '../../onnx/writer/index.ts';

export interface TextEncoderOptions {
  vocabularySize: number;
  hiddenSize: number;
  sequenceLength: number;
}

/**
 * A CLIP-text-encoder-shaped graph: `input_ids` int64 [B, L] → `last_hidden_state` [B, L, D]
 * (token embedding + position embedding) and `pooler_output` [B, D] (the hidden state at the
 * end-of-text token, found as CLIP does: the largest id). Fixed pseudo-random tables; nothing learned.
 */
export function buildTextEncoderGraph(options: TextEncoderOptions): GraphValue {
  const { vocabularySize, hiddenSize, sequenceLength } = options;
  const graph = new GraphBuilder('pixels_builtin_text_encoder');
  const ids = graph.input('input_ids', 'int64', ['batch', sequenceLength]);
  const random = seededUniform(0x5eed);
  const tokenTable = graph.initializer(
    'token_embedding',
    'float32',
    [vocabularySize, hiddenSize],
    Array.from({ length: vocabularySize * hiddenSize }, random),
  );
  const positionTable = graph.initializer(
    'position_embedding',
    'float32',
    [sequenceLength, hiddenSize],
    Array.from({ length: sequenceLength * hiddenSize }, () => 0.1 * random()),
  );
  graph.op('Add', [graph.op('Gather', [tokenTable, ids]), positionTable], {}, { outputs: ['last_hidden_state'] });

  const endPosition = graph.op('ArgMax', [ids], { axis: attribute.int(1), keepdims: attribute.int(1) });
  const gatherIndex = graph.op('Expand', [
    graph.op('Unsqueeze', [endPosition, graph.int64s([2])]),
    graph.int64s([1, 1, hiddenSize]),
  ]);
  const pooled = graph.op('GatherElements', ['last_hidden_state', gatherIndex], { axis: attribute.int(1) });
  graph.op('Squeeze', [pooled, graph.int64s([1])], {}, { outputs: ['pooler_output'] });

  graph.output('last_hidden_state', 'float32', ['batch', sequenceLength, hiddenSize]);
  graph.output('pooler_output', 'float32', ['batch', hiddenSize]);
  return graph.build();
}

/** mulberry32: a tiny deterministic generator of uniform values in [−1, 1). */
function seededUniform(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * 2 - 1;
  };
}
