import { decodeLuminance, decodeRgba, readHeader, resizeRaw } from '@pixels/server/images/codec.ts';
import { beginPngEncode, encodePngParallel } from '@pixels/server/images/png-encoder.ts';
import { describe, expect, it } from 'vitest';
import { fixture } from '../../helpers/images.ts';

/** Pseudo-random bytes with some structure, so every filter residual and lane borrow occurs. */
function pixels(width: number, height: number, channels: 1 | 3 | 4) {
  const data = new Uint8Array(width * height * channels);
  let state = 12345;
  for (let i = 0; i < data.length; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    data[i] = i % 7 === 0 ? state >>> 24 : (i * 13) & 0xff;
  }
  return { data, width, height, channels };
}

describe('encodePngParallel', () => {
  it.each([
    [1, 37, 19, 4],
    [3, 33, 21, 1],
    [4, 65, 40, 7],
    [4, 16, 16, 1000],
  ] as const)(
    '%i channel(s), %ix%i, %i rows per band: sharp reads back every byte',
    async (channels, width, height, rowsPerBand) => {
      const image = pixels(width, height, channels);
      const png = await encodePngParallel(image, { rowsPerBand });
      const header = await readHeader(png);
      expect([header.width, header.height, header.channels]).toEqual([width, height, channels]);
      if (channels === 1) {
        expect(Buffer.from((await decodeLuminance(png, 1 << 20)).data).equals(Buffer.from(image.data))).toBe(true);
        return;
      }
      const decoded = await decodeRgba(png, 1 << 20);
      for (let i = 0; i < width * height; i++) {
        for (let c = 0; c < channels; c++) expect(decoded.data[i * 4 + c]).toBe(image.data[i * channels + c]);
      }
    },
  );

  it('keeps a photograph exact in many bands', async () => {
    const photo = await resizeRaw(await decodeRgba(fixture('chelsea'), 1 << 24), 300, 1000, 'cover');
    const decoded = await decodeRgba(await encodePngParallel(photo, { rowsPerBand: 64 }), 1 << 24);
    expect(Buffer.from(decoded.data).equals(Buffer.from(photo.data))).toBe(true);
  });

  it.each([
    ['touching the top', 0, 9, 17, 31, 4],
    ['touching the bottom', 22, 31, 17, 31, 4],
    ['the whole frame', 0, 31, 17, 31, 3],
    ['one row', 12, 13, 19, 23, 1],
    ['no rows', 12, 12, 19, 23, 5],
  ] as const)(
    'begun early with the changing rows %s (%i to %i of an odd %ix%i frame, %i rows per band): exact',
    async (_, from, to, width, height, rowsPerBand) => {
      const image = pixels(width, height, 4);
      const pending = beginPngEncode(image, { from, to }, { rowsPerBand });
      for (let i = from * width * 4; i < to * width * 4; i++) image.data[i] = (image.data[i] * 7 + 91) & 0xff;
      const decoded = await decodeRgba(await pending.finish(), 1 << 20);
      expect(Buffer.from(decoded.data).equals(Buffer.from(image.data))).toBe(true);
    },
  );

  it('keeps a band whose deflate output spans several of zlib output buffers exact', async () => {
    // Noise does not compress: a 1024x256 RGBA band is a megabyte out, several 256 KiB buffers.
    const image = pixels(1024, 512, 4);
    let state = 99;
    for (let i = 0; i < image.data.length; i++) {
      state = (state * 1103515245 + 12345) >>> 0;
      image.data[i] = state >>> 24;
    }
    const pending = beginPngEncode(image, { from: 200, to: 300 }, { rowsPerBand: 256 });
    const decoded = await decodeRgba(await pending.finish(), 1 << 20);
    expect(Buffer.from(decoded.data).equals(Buffer.from(image.data))).toBe(true);
  });

  it('begun early, encodes the rows changed before finish as they are at finish', async () => {
    const image = pixels(50, 90, 4);
    const pending = beginPngEncode(image, { from: 30, to: 60 }, { rowsPerBand: 8 });
    for (let i = 30 * 50 * 4; i < 60 * 50 * 4; i++) image.data[i] = 255 - image.data[i];
    const decoded = await decodeRgba(await pending.finish(), 1 << 20);
    expect(Buffer.from(decoded.data).equals(Buffer.from(image.data))).toBe(true);
  });
});
