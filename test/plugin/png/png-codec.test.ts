import { readFile } from 'node:fs/promises';
import { deflateSync, crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32 } from '../../../plugin/src/png/crc32.ts';
import { decodePng, UnsupportedPngError } from '../../../plugin/src/png/png-decode.ts';
import { encodePng } from '../../../plugin/src/png/png-encode.ts';
import { readPngSize } from '../../../plugin/src/png/png-header.ts';
import { patternRaster, pixelAt, rasterFrom } from '../support/test-images.ts';

/** Builds a PNG with Node's own zlib, so the decoder is checked against an independent encoder. */
function makePng(
  header: { width: number; height: number; bitDepth: number; colorType: number; interlace?: number },
  rows: number[][],
  extraChunks: Array<[string, number[]]> = [],
): Uint8Array {
  const chunk = (type: string, body: Uint8Array) => {
    const out = Buffer.alloc(12 + body.length);
    out.writeUInt32BE(body.length, 0);
    out.write(type, 4, 'latin1');
    Buffer.from(body).copy(out, 8);
    out.writeUInt32BE(zlibCrc32(out.subarray(4, 8 + body.length)), 8 + body.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(header.width, 0);
  ihdr.writeUInt32BE(header.height, 4);
  ihdr[8] = header.bitDepth;
  ihdr[9] = header.colorType;
  ihdr[12] = header.interlace ?? 0;
  const raw = Buffer.from(rows.flatMap((row) => [0, ...row]));
  return new Uint8Array(
    Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', ihdr),
      ...extraChunks.map(([type, body]) => chunk(type, new Uint8Array(body))),
      chunk('IDAT', deflateSync(raw)),
      chunk('IEND', new Uint8Array(0)),
    ]),
  );
}

describe('readPngSize', () => {
  it('refuses bytes that are not a PNG, saying what it expected', () => {
    expect(() => readPngSize(new Uint8Array([1, 2, 3]))).toThrow(
      'Expected PNG bytes (starting with the PNG signature and an IHDR chunk), got 3 bytes of something else.',
    );
  });

  it('reads width and height from the IHDR chunk', async () => {
    expect(readPngSize(await encodePng(patternRaster(37, 11)))).toEqual({ width: 37, height: 11 });
  });
});

describe('crc32', () => {
  it('matches zlib', () => {
    const bytes = new TextEncoder().encode('PIXELS exemplar blend');
    expect(crc32(bytes)).toBe(zlibCrc32(bytes));
  });
});

describe('encodePng and decodePng', () => {
  it('round-trip RGBA exactly, semi-transparent pixels included', async () => {
    const raster = rasterFrom(61, 23, (x, y) => [(x * 9) & 255, (y * 13) & 255, (x ^ y) & 255, (x * 4 + y) & 255]);
    const decoded = await decodePng(await encodePng(raster));
    expect(decoded.width).toBe(61);
    expect(decoded.height).toBe(23);
    expect(Buffer.from(decoded.data).equals(Buffer.from(raster.data))).toBe(true);
  });

  it('round-trip gray maps as opaque gray', async () => {
    const gray = { data: Uint8Array.from({ length: 40 }, (_, i) => i * 6), width: 8, height: 5, channels: 1 as const };
    const png = await encodePng(gray);
    expect(png[25]).toBe(0);
    const decoded = await decodePng(png);
    expect(pixelAt(decoded, 3, 2)).toEqual([114, 114, 114, 255]);
  });

  it('refuses a raster whose bytes do not match its size', async () => {
    await expect(encodePng({ data: new Uint8Array(10), width: 2, height: 2, channels: 4 })).rejects.toThrow(
      'encodePng: 10 bytes do not make a 2x2 image with 4 channels.',
    );
  });

  it('decodes a real photograph like an independent decoder does', async () => {
    const png = new Uint8Array(await readFile(new URL('../../fixtures/images/chelsea.png', import.meta.url)));
    const photo = await decodePng(png);
    expect([photo.width, photo.height]).toEqual([451, 300]);
    // Pinned from a separate Python (zlib) decode of the same file.
    let sum = 0;
    for (let i = 0; i < photo.data.length; i += 4) sum += photo.data[i] + photo.data[i + 1] + photo.data[i + 2];
    expect(sum).toBe(46802357);
    expect(pixelAt(photo, 0, 0)).toEqual([143, 120, 104, 255]);
    expect(pixelAt(photo, 450, 299)).toEqual([162, 138, 128, 255]);
    expect(pixelAt(photo, 225, 150)).toEqual([190, 150, 124, 255]);
  });

  it('decodes indexed colour with transparency at 4 bits per pixel', async () => {
    const png = makePng(
      { width: 3, height: 1, bitDepth: 4, colorType: 3 },
      [[0x01, 0x20]],
      [
        ['PLTE', [255, 0, 0, 0, 255, 0, 0, 0, 255]],
        ['tRNS', [255, 128]],
      ],
    );
    const decoded = await decodePng(png);
    expect(pixelAt(decoded, 0, 0)).toEqual([255, 0, 0, 255]);
    expect(pixelAt(decoded, 1, 0)).toEqual([0, 255, 0, 128]);
    expect(pixelAt(decoded, 2, 0)).toEqual([0, 0, 255, 255]);
  });

  it('decodes 1-bit gray, 16-bit gray with a colour key, gray-alpha and 16-bit RGBA', async () => {
    const oneBit = await decodePng(makePng({ width: 3, height: 1, bitDepth: 1, colorType: 0 }, [[0b10100000]]));
    expect([pixelAt(oneBit, 0, 0), pixelAt(oneBit, 1, 0), pixelAt(oneBit, 2, 0)]).toEqual([
      [255, 255, 255, 255],
      [0, 0, 0, 255],
      [255, 255, 255, 255],
    ]);
    const keyed = await decodePng(
      makePng(
        { width: 2, height: 1, bitDepth: 16, colorType: 0 },
        [[0x12, 0x34, 0xab, 0xcd]],
        [['tRNS', [0x12, 0x34]]],
      ),
    );
    expect([pixelAt(keyed, 0, 0), pixelAt(keyed, 1, 0)]).toEqual([
      [0x12, 0x12, 0x12, 0],
      [0xab, 0xab, 0xab, 255],
    ]);
    const grayAlpha = await decodePng(makePng({ width: 1, height: 1, bitDepth: 8, colorType: 4 }, [[90, 30]]));
    expect(pixelAt(grayAlpha, 0, 0)).toEqual([90, 90, 90, 30]);
    const deep = await decodePng(
      makePng({ width: 1, height: 1, bitDepth: 16, colorType: 6 }, [[1, 2, 3, 4, 5, 6, 7, 8]]),
    );
    expect(pixelAt(deep, 0, 0)).toEqual([1, 3, 5, 7]);
  });

  it('decodes RGB with a colour key as transparent', async () => {
    const png = makePng(
      { width: 2, height: 1, bitDepth: 8, colorType: 2 },
      [[10, 20, 30, 40, 50, 60]],
      [['tRNS', [0, 10, 0, 20, 0, 30]]],
    );
    const decoded = await decodePng(png);
    expect([pixelAt(decoded, 0, 0), pixelAt(decoded, 1, 0)]).toEqual([
      [10, 20, 30, 0],
      [40, 50, 60, 255],
    ]);
  });

  it('leaves interlaced files to the browser and names damaged ones', async () => {
    await expect(
      decodePng(makePng({ width: 1, height: 1, bitDepth: 8, colorType: 0, interlace: 1 }, [[0]])),
    ).rejects.toBeInstanceOf(UnsupportedPngError);
    const truncated = (await encodePng(patternRaster(20, 20))).subarray(0, 60);
    await expect(decodePng(truncated)).rejects.toThrow('The PNG is truncated inside its IDAT chunk.');
    await expect(decodePng(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]))).rejects.toThrow(
      'Expected a PNG file, got 9 bytes that do not start with the PNG signature.',
    );
  });
});
