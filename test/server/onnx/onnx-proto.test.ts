import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ELEMENT_BYTES, elementBytes, elementTypeOf, ONNX_DATA_TYPE } from '@pixels/server/onnx/onnx-proto.ts';
import { readOnnxMetadata } from '@pixels/server/onnx/reader/read-onnx-metadata.ts';
import { createModel, type ElementType, GraphBuilder, writeModel } from '@pixels/server/onnx/writer/index.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pixels-onnx-proto-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const WRITABLE: readonly ElementType[] = ['float32', 'float16', 'float64', 'int8', 'uint8', 'int32', 'int64', 'bool'];

describe('the shared proto table', () => {
  it('holds the TensorProto.DataType codes of onnx.proto, each with its size', () => {
    expect(ONNX_DATA_TYPE).toEqual({
      float32: 1,
      uint8: 2,
      int8: 3,
      uint16: 4,
      int16: 5,
      int32: 6,
      int64: 7,
      string: 8,
      bool: 9,
      float16: 10,
      float64: 11,
      uint32: 12,
      uint64: 13,
      bfloat16: 16,
    });
    expect(Object.keys(ELEMENT_BYTES).sort()).toEqual(
      Object.keys(ONNX_DATA_TYPE)
        .filter((type) => type !== 'string')
        .sort(),
    );
    expect([elementTypeOf(10), elementTypeOf(16), elementTypeOf(14), elementTypeOf(0)]).toEqual([
      'float16',
      'bfloat16',
      undefined,
      undefined,
    ]);
    expect([elementBytes('int64'), elementBytes('bfloat16'), elementBytes('string'), elementBytes(undefined)]).toEqual([
      8,
      2,
      undefined,
      undefined,
    ]);
  });

  it('makes the reader read back every element type, name and shape the writer declares', async () => {
    const graph = new GraphBuilder('every_type');
    for (const type of WRITABLE) {
      const input = graph.input(`in_${type}`, type, ['batch', 3]);
      graph.op('Identity', [input], {}, { outputs: [`out_${type}`] });
      graph.output(`out_${type}`, type, ['batch', 3]);
    }
    const path = join(dir, 'every-type.onnx');
    await writeModel(path, createModel(graph.build()));
    const metadata = await readOnnxMetadata(path);
    expect(metadata.inputs).toEqual(WRITABLE.map((type) => ({ name: `in_${type}`, type, shape: ['batch', 3] })));
    expect(metadata.outputs).toEqual(WRITABLE.map((type) => ({ name: `out_${type}`, type, shape: ['batch', 3] })));
  });

  it('makes the reader find the side file and the bytes the writer put there', async () => {
    const graph = new GraphBuilder('side');
    const x = graph.input('x', 'float32', [300]);
    const weights = graph.initializer('w', 'float32', [300], new Float32Array(300).fill(0.5));
    const bias = graph.initializer('b', 'int64', [200], new Array(200).fill(1));
    graph.op('Add', [x, weights], {}, { outputs: ['y'] });
    graph.op('Identity', [bias], {}, { outputs: ['z'] });
    graph.output('y', 'float32', [300]);
    graph.output('z', 'int64', [200]);
    const path = join(dir, 'side.onnx');
    await writeModel(path, createModel(graph.build()), { location: 'side.bin', alignment: 64 });
    const metadata = await readOnnxMetadata(path);
    // 1200 bytes of float32 at 0, then 1600 bytes of int64 at the next multiple of 64 (1216).
    expect(metadata.externalData).toEqual([{ location: 'side.bin', requiredBytes: 1216 + 1600, tensors: 2 }]);
  });
});
