import type { AttributeValue, TensorValue } from './onnx-model.ts';

/**
 * Typed attribute constructors. ONNX distinguishes INT from FLOAT attributes (1 and 1.0 are different
 * to an operator), so attribute values say their kind instead of being guessed from JS numbers.
 */
export const attribute = Object.freeze({
  int: (value: number | bigint): AttributeValue => ({ kind: 'int', value }),
  ints: (value: readonly (number | bigint)[]): AttributeValue => ({ kind: 'ints', value }),
  float: (value: number): AttributeValue => ({ kind: 'float', value }),
  floats: (value: readonly number[]): AttributeValue => ({ kind: 'floats', value }),
  string: (value: string): AttributeValue => ({ kind: 'string', value }),
  strings: (value: readonly string[]): AttributeValue => ({ kind: 'strings', value }),
  tensor: (value: TensorValue): AttributeValue => ({ kind: 'tensor', value }),
});
