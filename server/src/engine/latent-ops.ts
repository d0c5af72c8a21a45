import type { Tensor } from './tensor.ts';
import { assertSameShape } from './tensor.ts';

/**
 * Per-cell blend of two latents [1, C, h, w] by a weight on the latent grid (h*w values):
 * out = a * weight + b * (1 - weight). The weight is shared by every channel.
 */
export function blendByCellWeight(a: Tensor, b: Tensor, weight: Float32Array): Tensor {
  assertSameShape(a, b, 'blendByCellWeight');
  const cells = weight.length;
  if (a.data.length % cells !== 0) {
    throw new Error(`blendByCellWeight: ${cells} weights do not tile a latent of shape [${a.shape.join(', ')}]`);
  }
  const out = new Float32Array(a.data.length);
  for (let offset = 0; offset < out.length; offset += cells) {
    for (let cell = 0; cell < cells; cell++) {
      const w = weight[cell];
      out[offset + cell] = a.data[offset + cell] * w + b.data[offset + cell] * (1 - w);
    }
  }
  return { data: out, shape: [...a.shape] };
}

/** Classifier-free guidance: uncond + scale * (cond - uncond). */
export function applyGuidance(conditional: Tensor, unconditional: Tensor, scale: number): Tensor {
  assertSameShape(conditional, unconditional, 'applyGuidance');
  const out = new Float32Array(conditional.data.length);
  for (let i = 0; i < out.length; i++) {
    const u = unconditional.data[i];
    out[i] = u + scale * (conditional.data[i] - u);
  }
  return { data: out, shape: [...conditional.shape] };
}
