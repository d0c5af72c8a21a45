import { attribute } from '@pixels/server/onnx/writer/index.ts';
import { type FloatType, floatOutput, GraphBuilder, seededValues } from './graph-helpers.ts';

export interface TinyTextEncoderOptions {
  vocabularySize: number;
  /** D: 768 (CLIP ViT-L), 1024 (OpenCLIP ViT-H), 1280 (OpenCLIP bigG). Real sizes, so detection works from metadata. */
  hiddenSize: number;
  /** Layers L; SDXL reads hidden_states.{L-1}, the penultimate. */
  layers: number;
  /** int64 (Optimum) or int32 (the legacy diffusers script, Olive). */
  idsType: 'int64' | 'int32';
  /** Whether `hidden_states.0..L` are outputs (Optimum's SDXL exports). */
  withHiddenStates: boolean;
  /** `pooler_output` (CLIPTextModel) or `text_embeds` (CLIPTextModelWithProjection, SDXL's second encoder). */
  pooledOutput: 'pooler_output' | 'text_embeds';
  floatType: FloatType;
  seed: number;
}

const SEQUENCE_LENGTH = 77;

/**
 * A CLIP-text-encoder-shaped graph with random weights: token + position embeddings, L elementwise
 * tanh layers, a scaled last layer as `last_hidden_state`, the mean over tokens as the pooled output.
 * Different prompts give different embeddings; the numbers mean nothing.
 */
export function buildTinyTextEncoder(options: TinyTextEncoderOptions) {
  const { hiddenSize: width, layers, seed } = options;
  const graph = new GraphBuilder('text_encoder');
  const ids = graph.input('input_ids', options.idsType, ['batch_size', 'sequence_length']);
  const tokens = graph.initializer(
    'token_embedding',
    'float32',
    [options.vocabularySize, width],
    seededValues(seed, options.vocabularySize * width, 1),
  );
  const positions = graph.initializer(
    'position_embedding',
    'float32',
    [SEQUENCE_LENGTH, width],
    seededValues(seed + 1, SEQUENCE_LENGTH * width, 0.2),
  );
  let hidden = graph.op('Add', [graph.op('Gather', [tokens, ids], { axis: attribute.int(0) }), positions]);
  const hiddenStates = [hidden];
  for (let layer = 0; layer < layers; layer++) {
    const gain = graph.initializer(
      `layer_${layer}_gain`,
      'float32',
      [width],
      seededValues(seed + 10 + layer, width, 1.5),
    );
    const bias = graph.initializer(
      `layer_${layer}_bias`,
      'float32',
      [width],
      seededValues(seed + 20 + layer, width, 0.3),
    );
    hidden = graph.op('Tanh', [graph.op('Add', [graph.op('Mul', [hidden, gain]), bias])]);
    hiddenStates.push(hidden);
  }
  const finalGain = graph.initializer('final_gain', 'float32', [width], seededValues(seed + 30, width, 1));
  const last = graph.op('Mul', [hidden, finalGain]);
  const pooled = graph.op('ReduceMean', [last], { axes: attribute.ints([1]), keepdims: attribute.int(0) });
  const sequenceShape = ['batch_size', 'sequence_length', width];
  if (options.pooledOutput === 'text_embeds') {
    const projection = graph.initializer('text_projection', 'float32', [width], seededValues(seed + 40, width, 1));
    floatOutput(graph, graph.op('Mul', [pooled, projection]), 'text_embeds', options.floatType, ['batch_size', width]);
    floatOutput(graph, last, 'last_hidden_state', options.floatType, sequenceShape);
  } else {
    floatOutput(graph, last, 'last_hidden_state', options.floatType, sequenceShape);
    floatOutput(graph, pooled, 'pooler_output', options.floatType, ['batch_size', width]);
  }
  if (options.withHiddenStates) {
    for (const [index, state] of hiddenStates.entries()) {
      floatOutput(graph, state, `hidden_states.${index}`, options.floatType, sequenceShape);
    }
  }
  return graph.build();
}
