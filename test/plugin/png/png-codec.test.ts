import { readFile } from 'node:fs/promises';
import { deflateSync } from 'node:zlib';
import { assemblePng, buildIhdrChunk, buildPngChunk, type PngHeader } from '@pixels/shared';
import { describe, expect, it } from 'vitest';
import { decodePng } from '../../../plugin/src/png/png-decode.ts';
import { encodePng } from '../../../plugin/src/png/png-encode.ts';
import type { Raster } from '../../../plugin/src/png/raster.ts';
import { patternRaster, pixelAt, rasterFrom } from '../support/test-images.ts';

/** Builds a PNG with Node's own zlib, so the decoder is checked against an independent encoder. */
function makePng(header: PngHeader, rows: number[][], extraChunks: Array<[string, number[]]> = []): Uint8Array {
  const raw = Buffer.from(rows.flatMap((row) => [0, ...row]));
  return assemblePng([
    buildIhdrChunk(header),
    ...extraChunks.map(([type, body]) => buildPngChunk(type, new Uint8Array(body))),
    buildPngChunk('IDAT', deflateSync(raw)),
    buildPngChunk('IEND', new Uint8Array(0)),
  ]);
}

/** Adam7's seven passes (PNG spec §8.2): first column and row, and the steps between them. */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

/** An 8-bit RGBA raster as an Adam7-interlaced PNG, each pass's rows unfiltered. */
function interlacedPng(raster: Raster): Uint8Array {
  const { width, height, data } = raster;
  const rows: number[][] = [];
  for (const [x0, y0, dx, dy] of ADAM7) {
    if (x0 >= width) continue;
    for (let y = y0; y < height; y += dy) {
      const row: number[] = [];
      for (let x = x0; x < width; x += dx) row.push(...data.subarray((y * width + x) * 4, (y * width + x + 1) * 4));
      rows.push(row);
    }
  }
  return makePng({ width, height, bitDepth: 8, colorType: 6, interlace: 1 }, rows);
}

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
    // Two rows: fast-png refuses a tRNS key with more samples (3) than the image has pixels.
    const png = makePng(
      { width: 2, height: 2, bitDepth: 8, colorType: 2 },
      [
        [10, 20, 30, 40, 50, 60],
        [40, 50, 60, 10, 20, 30],
      ],
      [['tRNS', [0, 10, 0, 20, 0, 30]]],
    );
    const decoded = await decodePng(png);
    expect([pixelAt(decoded, 0, 0), pixelAt(decoded, 1, 0), pixelAt(decoded, 1, 1)]).toEqual([
      [10, 20, 30, 0],
      [40, 50, 60, 255],
      [10, 20, 30, 0],
    ]);
  });

  it('decodes interlaced files exactly, semi-transparent pixels included', async () => {
    const raster = rasterFrom(13, 9, (x, y) => [
      (x * 19) & 255,
      (y * 27) & 255,
      (x * y * 5) & 255,
      (x * 17 + y * 3) & 255,
    ]);
    const decoded = await decodePng(interlacedPng(raster));
    expect([decoded.width, decoded.height]).toEqual([13, 9]);
    expect(Buffer.from(decoded.data).equals(Buffer.from(raster.data))).toBe(true);
  });

  it('names what it cannot read and damaged files', async () => {
    await expect(
      decodePng(makePng({ width: 8, height: 1, bitDepth: 1, colorType: 0, interlace: 1 }, [[0]])),
    ).rejects.toThrow(
      'The PNG is interlaced at 1 bits per sample, which the panel cannot read; export it without interlacing.',
    );
    const whole = await encodePng(patternRaster(20, 20));
    await expect(decodePng(whole.subarray(0, 60))).rejects.toThrow(
      'The PNG is truncated or damaged (60 bytes, its chunks end early); export it again.',
    );
    await expect(decodePng(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]))).rejects.toThrow(
      'Expected a PNG file, got 9 bytes that do not start with the PNG signature.',
    );
  });
});
