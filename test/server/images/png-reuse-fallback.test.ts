import { inflateSync } from 'node:zlib';
import { decodeRgba, resizeRaw } from '@pixels/server/images/codec.ts';
import { beginPngEncode, encodePngParallel } from '@pixels/server/images/png-encoder.ts';
import { splitSourceStream } from '@pixels/server/images/png-reuse.ts';
import { pngChunks } from '@pixels/shared';
import { describe, expect, it, vi } from 'vitest';
import { fixture } from '../../helpers/images.ts';

// A Node whose inflate engine keeps no synchronous write with block stops (the private call the
// reuse needs): the engine is Node's own, only its write state is hidden, as another version might.
vi.mock('node:zlib', async (importOriginal) => {
  const zlib = await importOriginal<typeof import('node:zlib')>();
  const createInflateRaw: typeof zlib.createInflateRaw = (options) => {
    const engine = zlib.createInflateRaw(options);
    Object.defineProperty(engine, '_writeState', { value: undefined });
    return engine;
  };
  return { ...zlib, default: { ...zlib, createInflateRaw }, createInflateRaw };
});

describe('reusing the source PNG without the inflate engine’s block stops', () => {
  it('finds nothing to reuse and encodes the result the ordinary way, exact', async () => {
    const image = await resizeRaw(await decodeRgba(fixture('chelsea'), 1 << 24), 300, 600, 'cover');
    const source = await encodePngParallel(image, { rowsPerBand: 40 });
    const rowBytes = 300 * 4 + 1;
    expect(splitSourceStream(source, image, 200 * rowBytes, 260 * rowBytes)).toBeUndefined();
    const copy = { ...image, data: new Uint8Array(image.data) };
    const pending = beginPngEncode(copy, { from: 200, to: 260 }, { source });
    for (let i = 200 * 300 * 4; i < 260 * 300 * 4; i++) copy.data[i] = 255 - copy.data[i];
    const png = await pending.finish();
    expect(Buffer.from((await decodeRgba(png, 1 << 24)).data).equals(Buffer.from(copy.data))).toBe(true);
    const idat = Buffer.concat([...pngChunks(png)].filter((chunk) => chunk.type === 'IDAT').map((chunk) => chunk.data));
    expect(inflateSync(idat).length).toBe(600 * rowBytes);
  });
});
