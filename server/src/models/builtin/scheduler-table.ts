/** The diffusers DDPM/DDIM noise table for a `scaled_linear` beta schedule. */
export function scaledLinearAlphasCumprod(betaStart: number, betaEnd: number, steps: number): Float64Array {
  const alphasCumprod = new Float64Array(steps);
  const first = Math.sqrt(betaStart);
  const last = Math.sqrt(betaEnd);
  let product = 1;
  for (let index = 0; index < steps; index++) {
    const beta = (first + ((last - first) * index) / (steps - 1)) ** 2;
    product *= 1 - beta;
    alphasCumprod[index] = product;
  }
  return alphasCumprod;
}
