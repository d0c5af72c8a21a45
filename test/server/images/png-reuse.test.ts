import { inflateSync } from 'node:zlib';
import { decodeRgba, type RawImage } from '@pixels/server/images/codec.ts';
import { beginPngEncode, encodePngParallel } from '@pixels/server/images/png-encoder.ts';
import { splitSourceStream } from '@pixels/server/images/png-reuse.ts';
import { buildPngChunk, pngChunks } from '@pixels/shared';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { rgbPngOf, translucentPhoto } from '../../helpers/images.ts';

const WIDTH = 400;
const HEIGHT = 1200;

const photo = () => translucentPhoto(WIDTH, HEIGHT);

/** The same pixels as PNG from two encoders: ours (Up filter, sync-flushed bands) and libvips' (adaptive filters, one stream). */
const ENCODERS = {
  ours: (image: RawImage) => encodePngParallel(image, { rowsPerBand: 40 }),
  libvips: async (image: RawImage) =>
    new Uint8Array(
      await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 4 } })
        .png({ compressionLevel: 6, adaptiveFiltering: true })
        .toBuffer(),
    ),
} as const;

function zlibStream(png: Uint8Array): Buffer {
  return Buffer.concat([...pngChunks(png)].filter((chunk) => chunk.type === 'IDAT').map((chunk) => chunk.data));
}

/** Changes rows [from, to) the way an edit would, in place. */
function edit(image: RawImage, from: number, to: number): void {
  for (let i = from * WIDTH * 4; i < to * WIDTH * 4; i++) image.data[i] = (image.data[i] * 7 + 91) & 0xff;
}

describe('reusing the source PNG in the result', () => {
  it.each([
    ['ours', 'in the middle', 300, 420],
    ['ours', 'touching the top', 0, 90],
    ['ours', 'touching the bottom', 1110, 1200],
    ['ours', 'covering the whole frame', 0, 1200],
    ['ours', 'one row', 350, 351],
    ['libvips', 'in the middle', 300, 420],
    ['libvips', 'touching the top', 0, 90],
    ['libvips', 'touching the bottom', 1110, 1200],
    ['libvips', 'covering the whole frame', 0, 1200],
    ['libvips', 'near the bottom, with too little below to reuse', 1100, 1180],
  ] as const)(
    'from %s PNG, the rows changing %s (%i to %i): exact, with a valid checksum',
    async (encoder, _, from, to) => {
      const image = await photo();
      const source = await ENCODERS[encoder](image);
      const pending = beginPngEncode(image, { from, to }, { source });
      edit(image, from, to);
      const png = await pending.finish();
      const decoded = await decodeRgba(png, 1 << 24);
      expect(Buffer.from(decoded.data).equals(Buffer.from(image.data))).toBe(true);
      // zlib checks the Adler-32 (and libpng did, for sharp's decode).
      expect(inflateSync(zlibStream(png)).length).toBe(HEIGHT * (WIDTH * 4 + 1));
    },
  );

  it.each(['ours', 'libvips'] as const)(
    'from %s PNG, takes the compressed rows above and below a change from the source',
    async (encoder) => {
      const image = await photo();
      const source = await ENCODERS[encoder](image);
      const rowBytes = WIDTH * 4 + 1;
      const reused = splitSourceStream(source, image, 300 * rowBytes, 421 * rowBytes);
      expect(reused).toBeDefined();
      const stream = zlibStream(source);
      // Most of the source's compressed bytes are reused: the new piece is the change, deflate's
      // 32 KiB window below it, and up to the nearest block boundaries that lie on a byte.
      const length = (parts: Uint8Array[]) => parts.reduce((sum, part) => sum + part.length, 0);
      expect(length(reused!.prefix)).toBeGreaterThan(0);
      expect(length(reused!.suffix)).toBeGreaterThan(0);
      expect(length(reused!.prefix) + length(reused!.suffix)).toBeGreaterThan(0.5 * stream.length);
      expect(reused!.pieceFrom).toBeLessThanOrEqual(300 * rowBytes);
      expect(reused!.pieceTo).toBeGreaterThanOrEqual(421 * rowBytes + (32 << 10));
    },
  );

  it('from libvips PNG, is exact wherever the change lies, whatever bit the blocks around it start at', async () => {
    // Deflate blocks start at any bit: the prefix is closed by an empty stored block, and the
    // suffix reached by empty fixed and dynamic blocks; 40 places meet every kind.
    const image = await photo();
    const source = await ENCODERS.libvips(image);
    for (let from = 0; from < HEIGHT - 30; from += 29) {
      const copy = { ...image, data: new Uint8Array(image.data) };
      const pending = beginPngEncode(copy, { from, to: from + 20 }, { source });
      edit(copy, from, from + 20);
      const png = await pending.finish();
      expect(inflateSync(zlibStream(png)).length).toBe(HEIGHT * (WIDTH * 4 + 1));
      const decoded = await decodeRgba(png, 1 << 24);
      expect(Buffer.from(decoded.data).equals(Buffer.from(copy.data))).toBe(true);
    }
  });

  it('encodes a source it cannot reuse the ordinary way: RGB, or with a colour profile', async () => {
    const image = await photo();
    const rgb = await rgbPngOf(image);
    const profiled = new Uint8Array(
      await sharp(image.data, { raw: { width: WIDTH, height: HEIGHT, channels: 4 } })
        .withIccProfile('p3')
        .png()
        .toBuffer(),
    );
    for (const source of [rgb, profiled]) {
      expect(splitSourceStream(source, image, 0, 100)).toBeUndefined();
    }
    const copy = { ...image, data: new Uint8Array(image.data) };
    const pending = beginPngEncode(copy, { from: 100, to: 200 }, { source: rgb });
    edit(copy, 100, 200);
    const decoded = await decodeRgba(await pending.finish(), 1 << 24);
    expect(Buffer.from(decoded.data).equals(Buffer.from(copy.data))).toBe(true);
  });

  it("stops without throwing on a damaged stream (the source's own decode then names it)", async () => {
    const image = await photo();
    const source = await ENCODERS.libvips(image);
    const chunks = [...pngChunks(source)];
    const stream = zlibStream(source);
    for (let i = 2000; i < 2100; i++) stream[i] ^= 0x5a;
    const damaged = new Uint8Array(
      Buffer.concat([
        source.subarray(0, chunks[0].offset + 12 + chunks[0].data.length),
        buildPngChunk('IDAT', stream),
        buildPngChunk('IEND', new Uint8Array(0)),
      ]),
    );
    const rowBytes = WIDTH * 4 + 1;
    expect(() => splitSourceStream(damaged, image, 300 * rowBytes, 421 * rowBytes)).not.toThrow();
  });

  it('does not reuse a source of another size', async () => {
    const image = await photo();
    const source = await ENCODERS.ours(image);
    expect(splitSourceStream(source, { width: WIDTH, height: HEIGHT - 1 }, 0, 100)).toBeUndefined();
  });
});
