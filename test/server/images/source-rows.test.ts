import { inflateSync } from 'node:zlib';
import { decodeRgba, type RawImage, resizeRaw } from '@pixels/server/images/codec.ts';
import { encodeOverSource, encodePngParallel, rowsReadOverSource } from '@pixels/server/images/png-encoder.ts';
import { beginReadingSource, readSourceRows } from '@pixels/server/images/source-rows.ts';
import { buildPngChunk, pngChunks } from '@pixels/shared';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { fixture, rgbPngOf, translucentPhoto } from '../../helpers/images.ts';

const WIDTH = 400;
const HEIGHT = 1200;
const FRAME = { width: WIDTH, height: HEIGHT };
const CHANGING = { from: 300, to: 420 };

const photo = () => translucentPhoto(WIDTH, HEIGHT);

/** Ours filters every row with Up (the rows are undone from the split's inflate); libvips' adaptive filters use Paeth (sharp decodes them). */
const ENCODERS = {
  ours: (image: RawImage) => encodePngParallel(image, { rowsPerBand: 40 }),
  libvips: async (image: RawImage) =>
    new Uint8Array(
      await sharp(image.data, { raw: { width: WIDTH, height: HEIGHT, channels: 4 } })
        .png({ compressionLevel: 6, adaptiveFiltering: true })
        .toBuffer(),
    ),
} as const;

function zlibStream(png: Uint8Array): Buffer {
  return Buffer.concat([...pngChunks(png)].filter((chunk) => chunk.type === 'IDAT').map((chunk) => chunk.data));
}

/** The PNG with its IDAT chunks replaced by one holding `stream`. */
function withStream(png: Uint8Array, stream: Uint8Array): Uint8Array {
  const header = [...pngChunks(png)][0];
  return new Uint8Array(
    Buffer.concat([
      png.subarray(0, header.offset + 12 + header.data.length),
      buildPngChunk('IDAT', stream),
      buildPngChunk('IEND', new Uint8Array(0)),
    ]),
  );
}

describe('readSourceRows: the rows of a source an edit changes, and nothing below them decoded', () => {
  it.each(['ours', 'libvips'] as const)(
    'from %s PNG: the rows a decoder gives, and a result over the source exact',
    async (encoder) => {
      const image = await photo();
      const source = await ENCODERS[encoder](image);
      const read = await readSourceRows(source, FRAME, CHANGING, 1 << 24);
      expect(read).toBeDefined();
      await expect(read!.checked).resolves.toBeUndefined();
      const { from, to } = rowsReadOverSource(FRAME, CHANGING);
      expect([from, to]).toEqual([299, 421]);
      const { image: rows, top } = read!.rows;
      expect([top, rows.width, rows.height]).toEqual([from, WIDTH, to - from]);
      const stride = WIDTH * 4;
      expect(Buffer.from(rows.data).equals(Buffer.from(image.data.subarray(from * stride, to * stride)))).toBe(true);
      // An edit of the changing rows, encoded over the source's stream: exact, with a valid checksum.
      const edited = new Uint8Array(image.data);
      for (let y = CHANGING.from; y < CHANGING.to; y++) {
        for (let i = y * stride; i < (y + 1) * stride; i++) {
          edited[i] = (edited[i] * 7 + 91) & 0xff;
          rows.data[i - top * stride] = edited[i];
        }
      }
      const png = await encodeOverSource(FRAME, rows, top, CHANGING, read!.reused);
      expect(Buffer.from((await decodeRgba(png, 1 << 24)).data).equals(Buffer.from(edited))).toBe(true);
      expect(inflateSync(zlibStream(png)).length).toBe(HEIGHT * (stride + 1));
    },
  );

  it('at the top and the bottom of the frame too', async () => {
    const image = await photo();
    const source = await ENCODERS.ours(image);
    const stride = WIDTH * 4;
    for (const changing of [
      { from: 0, to: 60 },
      { from: 1100, to: 1200 },
    ]) {
      const read = await readSourceRows(source, FRAME, changing, 1 << 24);
      expect(read).toBeDefined();
      const { image: rows, top } = read!.rows;
      expect(top).toBe(Math.max(0, changing.from - 1));
      expect(
        Buffer.from(rows.data).equals(Buffer.from(image.data.subarray(top * stride, (top + rows.height) * stride))),
      ).toBe(true);
      const png = await encodeOverSource(FRAME, rows, top, changing, read!.reused);
      expect(Buffer.from((await decodeRgba(png, 1 << 24)).data).equals(Buffer.from(image.data))).toBe(true);
    }
  });

  it('splits the same after inflating ahead, however far ahead it got, and ends the inflate when no rows are wanted', async () => {
    // 6 MB of filtered rows: the inflate ahead takes three turns of the event loop to reach the end.
    const frame = { width: 1000, height: 1500 };
    const changing = { from: 700, to: 760 };
    const big = await resizeRaw(await decodeRgba(fixture('coffee'), 1 << 24), frame.width, frame.height, 'cover');
    const source = await encodePngParallel(big);
    const stride = frame.width * 4;
    for (const turns of [0, 1, 2, 1000]) {
      const reader = beginReadingSource(source, 1 << 24);
      expect(reader).toBeDefined();
      for (let turn = 0; turn < turns; turn++) await new Promise((resolve) => setImmediate(resolve));
      const read = await reader!.rowsFor(frame, changing);
      expect(read).toBeDefined();
      await expect(read!.checked).resolves.toBeUndefined();
      const { image: rows, top } = read!.rows;
      const expected = big.data.subarray(top * stride, (top + rows.height) * stride);
      expect(Buffer.from(rows.data).equals(Buffer.from(expected))).toBe(true);
      const png = await encodeOverSource(frame, rows, top, changing, read!.reused);
      expect(Buffer.from((await decodeRgba(png, 1 << 24)).data).equals(Buffer.from(big.data))).toBe(true);
      reader!.close(); // after a split too: harmless
    }
    const unused = beginReadingSource(source, 1 << 24)!;
    unused.close();
    expect(await unused.rowsFor(frame, changing)).toBeUndefined();
  });

  it('finds damage below the rows it read, where nothing is decoded: a stream cut short, or a chunk failing its CRC', async () => {
    const source = await ENCODERS.ours(await photo());
    const stream = zlibStream(source);
    const cut = withStream(source, stream.subarray(0, Math.floor(stream.length * 0.8)));
    const cutRead = await readSourceRows(cut, FRAME, CHANGING, 1 << 24);
    expect(cutRead).toBeDefined();
    await expect(cutRead!.checked).rejects.toThrow();
    const badCrc = new Uint8Array(source);
    const last = [...pngChunks(badCrc)].filter((chunk) => chunk.type === 'IDAT').at(-1)!;
    badCrc[last.offset + 8 + last.data.length] ^= 0xff; // the CRC's first byte
    const crcRead = await readSourceRows(badCrc, FRAME, CHANGING, 1 << 24);
    expect(crcRead).toBeDefined();
    await expect(crcRead!.checked).rejects.toThrow(/CRC/);
  });

  it('reads nothing from a source whose stream cannot be reused: RGB, another size, too many pixels', async () => {
    const image = await photo();
    const rgb = await rgbPngOf(image);
    expect(await readSourceRows(rgb, FRAME, CHANGING, 1 << 24)).toBeUndefined();
    const source = await ENCODERS.ours(image);
    expect(await readSourceRows(source, { width: WIDTH, height: HEIGHT - 1 }, CHANGING, 1 << 24)).toBeUndefined();
    // A header claiming more pixels than allowed: nothing is allocated for it (the decode names it).
    const claimed = new Uint8Array(source);
    const header = [...pngChunks(claimed)][0];
    new DataView(claimed.buffer).setUint32(header.offset + 8, 60000);
    new DataView(claimed.buffer).setUint32(header.offset + 12, 60000);
    expect(beginReadingSource(claimed, 1 << 24)).toBeUndefined();
  });
});
