import type {
  Conditioning,
  DiffusionModel,
  ModelInfo,
  PredictInput,
  PredictOutput,
} from '@pixels/server/engine/model.ts';
import type { Tensor } from '@pixels/server/engine/tensor.ts';

/**
 * A closed-form model for loop tests: every method is a fixed, nonlinear function of its inputs,
 * so two loops that feed it the same values get bit-identical outputs, and any difference in what
 * a loop feeds (latent, timestep, reference, branch) shows up in the result.
 */
export function createAnalyticModel(
  guidanceMode: ModelInfo['guidanceMode'] = 'classifier-free',
  readsReference = true,
): DiffusionModel & {
  calls: PredictInput[];
} {
  const calls: PredictInput[] = [];
  const info: ModelInfo = {
    name: 'analytic',
    family: 'sd1',
    nativeSize: 16,
    sizeMultiple: 2,
    dtype: 'float32',
    scheduler: 'DDIMScheduler',
    defaultGuidance: 3,
    usesPrompt: true,
    description: 'test model',
    parts: {},
    latentChannels: 3,
    vaeScaleFactor: 1,
    schedulerConfig: {
      _class_name: 'DDIMScheduler',
      beta_schedule: 'scaled_linear',
      beta_start: 0.00085,
      beta_end: 0.012,
      num_train_timesteps: 1000,
      steps_offset: 1,
      set_alpha_to_one: false,
      clip_sample: false,
    },
    guidanceMode,
  };
  const branch = (input: PredictInput, bias: number): Tensor => {
    const data = new Float32Array(input.sample.data.length);
    for (let i = 0; i < data.length; i++) {
      const x = input.sample.data[i];
      const reference = readsReference ? input.reference.data[i] : 0;
      data[i] = Math.tanh(0.7 * x - 0.3 * reference + input.timestep / 1000 + bias);
    }
    return { data, shape: [...input.sample.shape] };
  };
  return {
    info,
    calls,
    async encodeImage(image) {
      return { data: Float32Array.from(image.data, (v) => 0.8 * v + 0.05), shape: [...image.shape] };
    },
    async decodeLatent(latent) {
      return { data: Float32Array.from(latent.data, (v) => (v - 0.05) / 0.8), shape: [...latent.shape] };
    },
    async encodePrompt(_prompt, _negative, withUnconditional): Promise<Conditioning> {
      return { hasUnconditional: withUnconditional };
    },
    async predict(input): Promise<PredictOutput> {
      calls.push(input);
      const conditional = branch(input, 0.1);
      return input.branches === 'both' ? { conditional, unconditional: branch(input, -0.2) } : { conditional };
    },
  };
}

/** A deterministic smooth test image [1, 3, h, w] in [-1, 1]. */
export function testImage(height: number, width: number, phase: number): Tensor {
  const data = new Float32Array(3 * height * width);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) data[(c * height + y) * width + x] = Math.sin(phase + 0.3 * x + 0.2 * y + c);
    }
  }
  return { data, shape: [1, 3, height, width] };
}
