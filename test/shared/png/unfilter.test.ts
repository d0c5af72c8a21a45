import { inflateSync } from 'node:zlib';
import { decodeRgba, type RawImage, resizeRaw } from '@pixels/server/images/codec.ts';
import { encodePngParallel } from '@pixels/server/images/png-encoder.ts';
import { pngChunks, unfilterRows } from '@pixels/shared';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { fixture } from '../../helpers/images.ts';

const WIDTH = 301; // an odd width: rows that are no whole number of words
const HEIGHT = 240;

async function photo(): Promise<RawImage> {
  const image = await resizeRaw(await decodeRgba(fixture('coffee'), 1 << 24), WIDTH, HEIGHT, 'cover');
  const data = new Uint8Array(image.data);
  for (let i = 0; i < WIDTH * HEIGHT; i++) data[i * 4 + 3] = (i * 13) % 101 === 0 ? 40 : 255;
  return { ...image, data };
}

function scanlines(png: Uint8Array): Uint8Array {
  return inflateSync(Buffer.concat([...pngChunks(png)].filter((chunk) => chunk.type === 'IDAT').map((c) => c.data)));
}

const libvips = (image: RawImage, adaptiveFiltering: boolean) =>
  sharp(image.data, { raw: { width: WIDTH, height: HEIGHT, channels: 4 } })
    .png({ adaptiveFiltering })
    .toBuffer()
    .then((png) => new Uint8Array(png));

describe('unfilterRows', () => {
  it.each([
    ['ours (Up)', (image: RawImage) => encodePngParallel(image), [2]],
    ['libvips unfiltered (None)', (image: RawImage) => libvips(image, false), [0]],
    ['libvips adaptive (Sub, Average, Paeth)', (image: RawImage) => libvips(image, true), [1, 3, 4]],
  ])('gives the rows a decoder gives, from %s PNG', async (_, encode, filterTypes) => {
    const image = await photo();
    const filtered = scanlines(await encode(image));
    const stride = WIDTH * 4;
    const types = new Set(Array.from({ length: HEIGHT }, (_, y) => filtered[y * (stride + 1)]));
    for (const type of filterTypes) expect(types).toContain(type);
    for (const [from, to] of [
      [0, HEIGHT],
      [0, 1],
      [97, 150],
      [HEIGHT - 1, HEIGHT],
    ]) {
      const rows = unfilterRows({ data: filtered, stride, bytesPerPixel: 4 }, from, to);
      expect(Buffer.from(rows).equals(Buffer.from(image.data.subarray(from * stride, to * stride)))).toBe(true);
    }
  });

  it('leaves the scanlines as they were, and names a filter type PNG does not define', async () => {
    const filtered = scanlines(await encodePngParallel(await photo()));
    const before = Buffer.from(filtered);
    unfilterRows({ data: filtered, stride: WIDTH * 4, bytesPerPixel: 4 }, 10, 20);
    expect(Buffer.from(filtered).equals(before)).toBe(true);
    filtered[5 * (WIDTH * 4 + 1)] = 7;
    expect(() => unfilterRows({ data: filtered, stride: WIDTH * 4, bytesPerPixel: 4 }, 10, 20)).toThrow(
      /filter type 7/,
    );
    expect(() => unfilterRows({ data: filtered, stride: WIDTH * 4, bytesPerPixel: 4 }, 0, HEIGHT + 1)).toThrow();
  });
});
