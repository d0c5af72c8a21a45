import { EditFailed, toEditFailure } from '@pixels/server/edit/edit-failure.ts';
import { readOnnxMetadata } from '@pixels/server/onnx/reader/read-onnx-metadata.ts';
import { PixelsError } from '@pixels/shared';
import { describe, expect, it } from 'vitest';

describe('one failure shape across the worker boundary', () => {
  it("keeps a request fault's code and message, and its cause only as detail", () => {
    const failure = toEditFailure(
      new PixelsError('invalid_image', 'The source image could not be decoded.', 'source', {
        cause: new Error('VipsJpeg: Premature end of input file /tmp/x.jpg'),
      }),
    );
    expect(failure).toMatchObject({ code: 'invalid_image', field: 'source', reason: 'bad_input' });
    expect(failure.message).toBe('The source image could not be decoded.');
    expect(failure.detail).toContain('VipsJpeg');
  });

  it("hides a model fault's paths and runtime text from the client, and keeps them for the log", async () => {
    const error = await readOnnxMetadata('/nonexistent/models/sd15/unet/model.onnx').catch((caught) => caught);
    expect(error).toBeInstanceOf(PixelsError);
    expect(error.message).toContain('/nonexistent/models/sd15');
    const failure = toEditFailure(error);
    expect(failure).toMatchObject({ code: 'model_error', reason: 'server_fault' });
    expect(failure.message).not.toContain('/nonexistent');
    expect(failure.detail).toContain('/nonexistent/models/sd15');
  });

  it('turns anything else into internal, and passes an EditFailed through unchanged', () => {
    const crash = toEditFailure(new TypeError("Cannot read properties of undefined (reading 'dims')"));
    expect(crash).toMatchObject({ code: 'internal', reason: 'server_fault' });
    expect(crash.message).not.toContain('dims');
    const lost = { code: 'worker_lost', message: 'gone', reason: 'worker_lost' } as const;
    expect(toEditFailure(new EditFailed(lost))).toBe(lost);
    // Plain data: it survives structured cloning (postMessage) as it is.
    expect(structuredClone(crash)).toEqual(crash);
  });
});
