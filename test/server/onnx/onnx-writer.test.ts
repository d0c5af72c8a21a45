import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSession } from '@pixels/server/models/onnx-runtime.ts';
import {
  attribute,
  createModel,
  createTensor,
  GraphBuilder,
  serializeModel,
  writeModel,
} from '@pixels/server/onnx/writer/index.ts';
import { ProtobufWriter } from '@pixels/server/onnx/writer/protobuf-writer.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CPU = { providers: ['cpu'], intraOpThreads: 1 } as const;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pixels-onnx-writer-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('invalid graphs are refused up front', () => {
  it('names a tensor whose values do not fill its dims', () => {
    expect(() => createTensor('w', 'float32', [2, 3], [1, 2, 3])).toThrow(
      "createTensor 'w': 3 values do not fill dims [2, 3] (6)",
    );
  });

  it('names a typed array of the wrong element type', () => {
    expect(() => createTensor('ids', 'int32', [2], new Float32Array(2))).toThrow(
      "createTensor 'ids': a int32 tensor takes Int32Array or numbers, got Float32Array",
    );
  });

  it('names a node that reads a value before it exists', () => {
    const graph = new GraphBuilder('g');
    expect(() => graph.op('Relu', ['missing'])).toThrow(
      "GraphBuilder 'g': Relu node 'Relu_0' reads 'missing' before it exists",
    );
  });

  it('names an output that nothing produces and a value defined twice', () => {
    const graph = new GraphBuilder('g');
    graph.input('x', 'float32', [1]);
    expect(() => graph.output('y', 'float32', [1])).toThrow("GraphBuilder 'g': output 'y' is never produced");
    expect(() => graph.input('x', 'float32', [1])).toThrow("GraphBuilder 'g': value 'x' (input) already exists");
  });
});

describe('protobuf wire format', () => {
  it('encodes varints, negative int64 and floats as protobuf does', () => {
    expect([...new ProtobufWriter().varint(1, 300).finish()]).toEqual([0x08, 0xac, 0x02]);
    // Negative int64: ten bytes of 64-bit two's complement.
    expect([...new ProtobufWriter().varint(2, -1).finish()]).toEqual([0x10, ...new Array(9).fill(0xff), 0x01]);
    expect([...new ProtobufWriter().float(3, 1).finish()]).toEqual([0x1d, 0x00, 0x00, 0x80, 0x3f]);
    expect([...new ProtobufWriter().string(4, 'ab').finish()]).toEqual([0x22, 0x02, 0x61, 0x62]);
  });
});

describe('models written by the writer run in onnxruntime', () => {
  it('runs a graph with symbolic dims and weights in an external data file', async () => {
    const inputs = 3;
    const outputs = 300;
    const weights = Float32Array.from({ length: inputs * outputs }, (_, i) => Math.sin(i));
    const graph = new GraphBuilder('dense');
    const x = graph.input('x', 'float32', ['batch', inputs]);
    const w = graph.initializer('weights', 'float32', [inputs, outputs], weights);
    const bias = graph.initializer('bias', 'float32', [outputs], new Float32Array(outputs).fill(0.5));
    graph.op('Add', [graph.op('MatMul', [x, w]), bias], {}, { outputs: ['y'] });
    graph.output('y', 'float32', ['batch', outputs]);
    const path = join(dir, 'dense.onnx');
    await writeModel(path, createModel(graph.build()), { location: 'dense.onnx_data', alignment: 4096 });

    // Weights (3600 bytes) leave the model; the bias (1200 bytes) too, at the next aligned offset.
    expect((await stat(join(dir, 'dense.onnx_data'))).size).toBe(4096 + outputs * 4);
    expect((await stat(path)).size).toBeLessThan(1000);

    const session = await openSession(path, CPU);
    expect(session.inputs).toEqual([{ name: 'x', type: 'float32', shape: ['batch', inputs] }]);
    expect(session.outputs).toEqual([{ name: 'y', type: 'float32', shape: ['batch', outputs] }]);
    const rows = [
      [1, 2, 3],
      [-1, 0, 0.5],
    ];
    const result = await session.run({
      x: { kind: 'float', tensor: { data: Float32Array.from(rows.flat()), shape: [2, 3] } },
    });
    expect(result.y.shape).toEqual([2, outputs]);
    rows.forEach((row, r) => {
      for (const column of [0, 1, 149, 299]) {
        const expected = 0.5 + row.reduce((sum, value, k) => sum + value * weights[k * outputs + column], 0);
        expect(result.y.data[r * outputs + column]).toBeCloseTo(expected, 5);
      }
    });
    await session.release();
  });

  it('keeps every initializer inline without external data, and writes the same bytes twice', () => {
    const build = () => {
      const graph = new GraphBuilder('inline');
      const x = graph.input('x', 'float32', [4]);
      const w = graph.initializer('w', 'float32', [4], [1, 2, 3, 4]);
      graph.op('Mul', [x, w], {}, { outputs: ['y'] });
      graph.output('y', 'float32', [4]);
      return createModel(graph.build());
    };
    const first = serializeModel(build());
    expect(first.externalData).toBeNull();
    expect(serializeModel(build()).model).toEqual(first.model);
    expect(serializeModel(build(), { location: 'x.data' }).externalData).toBeNull(); // 16 bytes stay inline
  });

  it('writes int, ints, float, string and tensor attributes that operators read', async () => {
    const graph = new GraphBuilder('attributes');
    const x = graph.input('x', 'float32', [2, 3]);
    const transposed = graph.op('Transpose', [x], { perm: attribute.ints([1, 0]) });
    const leaky = graph.op('LeakyRelu', [transposed], { alpha: attribute.float(0.25) });
    const padded = graph.op('Pad', [leaky, graph.int64s([1, 0, 0, 0])], { mode: attribute.string('edge') });
    const offset = graph.constant('float32', [1, 2], [10, 20]);
    graph.op('Add', [padded, offset], {}, { outputs: ['y'] });
    graph.op('ArgMax', [x], { axis: attribute.int(1), keepdims: attribute.int(0) }, { outputs: ['largest'] });
    graph.output('y', 'float32', [4, 2]);
    graph.output('largest', 'int64', [2]);
    const path = join(dir, 'attributes.onnx');
    await writeModel(path, createModel(graph.build()));

    const session = await openSession(path, CPU);
    const data = Float32Array.from([1, -4, 3, -2, 5, -8]);
    const result = await session.run({ x: { kind: 'float', tensor: { data, shape: [2, 3] } } });
    // transpose → [[1,-2],[-4,5],[3,-8]]; leaky relu; edge-pad one row on top; + [10, 20]
    expect([...result.y.data]).toEqual([11, 19.5, 11, 19.5, 9, 25, 13, 18]);
    expect([...result.largest.data]).toEqual([2, 1]);
    await session.release();
  });

  it('declares float16, int32 and int64 inputs and outputs with fixed and symbolic dims', async () => {
    const graph = new GraphBuilder('dtypes');
    const half = graph.input('half', 'float16', ['batch', 2]);
    const ids32 = graph.input('ids32', 'int32', ['batch', 'sequence']);
    const ids64 = graph.input('ids64', 'int64', ['batch', 'sequence']);
    const table = graph.initializer('table', 'float16', [3, 2], [0, 0.5, 1, 1.5, 2, 2.5]);
    const doubled = graph.op('Mul', [half, graph.scalar(2, 'float16')], {}, { outputs: ['doubled'] });
    graph.op('Gather', [table, ids32], {}, { outputs: ['from32'] });
    graph.op('Gather', [table, ids64], {}, { outputs: ['from64'] });
    graph.op('Add', [ids64, graph.scalar(1, 'int64')], {}, { outputs: ['next'] });
    graph.output(doubled, 'float16', ['batch', 2]);
    graph.output('from32', 'float16', ['batch', 'sequence', 2]);
    graph.output('from64', 'float16', ['batch', 'sequence', 2]);
    graph.output('next', 'int64', ['batch', 'sequence']);
    const path = join(dir, 'dtypes.onnx');
    await writeModel(path, createModel(graph.build()));

    const session = await openSession(path, CPU);
    expect(session.inputs).toEqual([
      { name: 'half', type: 'float16', shape: ['batch', 2] },
      { name: 'ids32', type: 'int32', shape: ['batch', 'sequence'] },
      { name: 'ids64', type: 'int64', shape: ['batch', 'sequence'] },
    ]);
    expect(session.outputs.map(({ name, type }) => `${name}:${type}`)).toEqual([
      'doubled:float16',
      'from32:float16',
      'from64:float16',
      'next:int64',
    ]);
    const result = await session.run({
      half: { kind: 'float', tensor: { data: Float32Array.from([0.25, -3]), shape: [1, 2] } },
      ids32: { kind: 'int', data: [2, 0], shape: [1, 2] },
      ids64: { kind: 'int', data: [1, 2], shape: [1, 2] },
    });
    expect([...result.doubled.data]).toEqual([0.5, -6]);
    expect([...result.from32.data]).toEqual([2, 2.5, 0, 0.5]);
    expect([...result.from64.data]).toEqual([1, 1.5, 2, 2.5]);
    expect([...result.next.data]).toEqual([2, 3]);
    await session.release();
  });

  it('records external data entries that another reader can follow', async () => {
    const graph = new GraphBuilder('side');
    const x = graph.input('x', 'float32', [256]);
    const values = Float32Array.from({ length: 256 }, (_, i) => i * 0.5);
    graph.op('Add', [x, graph.initializer('w', 'float32', [256], values)], {}, { outputs: ['y'] });
    graph.output('y', 'float32', [256]);
    const serialized = serializeModel(createModel(graph.build()), { location: 'side.bin' });
    const text = new TextDecoder('latin1').decode(serialized.model);
    expect(text).toContain('location');
    expect(text).toContain('side.bin');
    expect(serialized.externalData).toEqual(new Uint8Array(values.buffer));
    await writeModel(join(dir, 'side.onnx'), createModel(graph.build()), { location: 'side.bin' });
    expect(await readFile(join(dir, 'side.bin'))).toEqual(Buffer.from(values.buffer));
  });
});
