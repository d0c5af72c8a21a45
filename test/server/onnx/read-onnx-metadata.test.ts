import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openSession } from '@pixels/server/models/onnx-runtime.ts';
import { readOnnxMetadata } from '@pixels/server/onnx/reader/read-onnx-metadata.ts';
import { beforeAll, describe, expect, it } from 'vitest';
import { tinyModelsFolder } from '../../helpers/tiny-model-folders.ts';

let models: string;
beforeAll(async () => {
  models = await tinyModelsFolder();
});

describe('readOnnxMetadata', () => {
  it('reads the same inputs and outputs as onnxruntime, for every part of every layout', async () => {
    const parts = [
      'tiny-sd1/unet',
      'tiny-sd1-legacy/unet',
      'tiny-sd1-olive/unet',
      'tiny-sd2/unet',
      'tiny-sdxl/text_encoder',
      'tiny-sdxl/text_encoder_2',
      'tiny-sdxl-refiner/unet',
      'tiny-lcm/unet',
      'tiny-sd1-legacy/vae_encoder',
      'tiny-sd1-olive/vae_decoder',
    ];
    for (const part of parts) {
      const path = join(models, part, 'model.onnx');
      const metadata = await readOnnxMetadata(path);
      const session = await openSession(path, { providers: ['cpu'], intraOpThreads: 1 });
      expect(metadata.inputs, part).toEqual(session.inputs.map((info) => ({ ...info, shape: [...info.shape] })));
      expect(
        metadata.outputs.map((output) => output.name),
        part,
      ).toEqual(session.outputs.map((output) => output.name));
      await session.release();
    }
  });

  it('lists each external data file under its own name with the bytes the graph reads', async () => {
    const names = [
      ['tiny-sd1', 'model.onnx_data'],
      ['tiny-sd1-legacy', 'weights.pb'],
      ['tiny-sd1-olive', 'model.onnx.data'],
    ];
    for (const [model, location] of names) {
      const metadata = await readOnnxMetadata(join(models, model, 'unet', 'model.onnx'));
      expect(metadata.externalData).toHaveLength(1);
      expect(metadata.externalData[0].location).toBe(location);
      const { size } = await import('node:fs/promises').then(({ stat }) => stat(join(models, model, 'unet', location)));
      expect(metadata.externalData[0].requiredBytes).toBe(size);
    }
    expect((await readOnnxMetadata(join(models, 'tiny-sd1', 'vae_decoder', 'model.onnx'))).externalData).toEqual([]);
  });

  it('reports the element types and symbolic or fixed dimensions of each export', async () => {
    const olive = await readOnnxMetadata(join(models, 'tiny-sd1-olive', 'unet', 'model.onnx'));
    expect(olive.inputs.find((input) => input.name === 'timestep')).toEqual({
      name: 'timestep',
      type: 'float16',
      shape: ['batch'],
    });
    expect(olive.inputs.find((input) => input.name === 'sample')?.type).toBe('float16');
    const sd2 = await readOnnxMetadata(join(models, 'tiny-sd2', 'unet', 'model.onnx'));
    expect(sd2.inputs.find((input) => input.name === 'timestep')).toEqual({
      name: 'timestep',
      type: 'float32',
      shape: [],
    });
    expect(sd2.inputs.find((input) => input.name === 'encoder_hidden_states')?.shape).toEqual([
      'batch',
      'sequence_length',
      1024,
    ]);
    const legacy = await readOnnxMetadata(join(models, 'tiny-sd1-legacy', 'text_encoder', 'model.onnx'));
    expect(legacy.inputs).toEqual([{ name: 'input_ids', type: 'int32', shape: ['batch_size', 'sequence_length'] }]);
    expect(legacy.opset).toBe(17);
    expect(legacy.irVersion).toBe(8);
  });
});

describe('readOnnxMetadata: files that are not ONNX models', () => {
  it('names a truncated file and says to download it again', async () => {
    const path = join(models, 'truncated.onnx');
    const bytes = await readFile(join(models, 'tiny-sd1', 'unet', 'model.onnx'));
    await writeFile(path, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await expect(readOnnxMetadata(path)).rejects.toThrow(
      /truncated\.onnx is not a valid ONNX model \(.*\); the file is corrupt or truncated: download it again/,
    );
  });

  it('recognises a Git LFS pointer', async () => {
    const path = join(models, 'pointer.onnx');
    await writeFile(path, 'version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 123\n');
    await expect(readOnnxMetadata(path)).rejects.toThrow(
      /pointer\.onnx is a Git LFS pointer, not the model: fetch the real file/,
    );
  });

  it('refuses text, empty files and missing files with the path', async () => {
    await writeFile(join(models, 'notes.onnx'), 'hello, this is text and not protobuf at all');
    await expect(readOnnxMetadata(join(models, 'notes.onnx'))).rejects.toThrow(/notes\.onnx is not a valid ONNX model/);
    await writeFile(join(models, 'empty.onnx'), '');
    await expect(readOnnxMetadata(join(models, 'empty.onnx'))).rejects.toThrow(
      /empty\.onnx is not a valid ONNX model \(it has no graph\)/,
    );
    await expect(readOnnxMetadata(join(models, 'absent.onnx'))).rejects.toThrow(
      /absent\.onnx: cannot open the ONNX file \(ENOENT\)/,
    );
  });
});
