/** A dense float32 tensor in row-major (NCHW for images and latents) order. */
export interface Tensor {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((product, size) => product * size, 1);
}

export function zeros(shape: readonly number[]): Tensor {
  return { data: new Float32Array(elementCount(shape)), shape: [...shape] };
}

export function tensor(data: Float32Array, shape: readonly number[]): Tensor {
  if (data.length !== elementCount(shape)) {
    throw new Error(`tensor: ${data.length} values do not fill shape [${shape.join(', ')}]`);
  }
  return { data, shape: [...shape] };
}

export function cloneTensor(source: Tensor): Tensor {
  return { data: Float32Array.from(source.data), shape: [...source.shape] };
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((size, axis) => size === b[axis]);
}

export function assertSameShape(a: Tensor, b: Tensor, what: string): void {
  if (!sameShape(a.shape, b.shape)) {
    throw new Error(`${what}: shapes [${a.shape.join(', ')}] and [${b.shape.join(', ')}] differ`);
  }
}
