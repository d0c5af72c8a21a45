import type { Tensor } from './tensor.ts';
import { assertSameShape } from './tensor.ts';

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
