import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { decodeRgba, encodePng, type RawImage, resizeRaw } from '@pixels/server/images/codec.ts';
import { assemblePng, buildIhdrChunk, buildPngChunk } from '@pixels/shared';
import sharp from 'sharp';

export const FIXTURES_DIR = join(import.meta.dirname, '..', 'fixtures', 'images');

export function fixture(name: 'brick' | 'chelsea' | 'coffee' | 'grass' | 'gravel'): Uint8Array {
  return new Uint8Array(readFileSync(join(FIXTURES_DIR, `${name}.png`)));
}

/** A fixture cropped and scaled to width x height, as PNG (with an alpha channel from `alpha` when given). */
export async function fixtureAt(
  name: Parameters<typeof fixture>[0],
  width: number,
  height = width,
  alpha?: (x: number, y: number) => number,
): Promise<Uint8Array> {
  const image = await resizeRaw(await decodeRgba(fixture(name), 1 << 26), width, height, 'cover');
  const data = new Uint8Array(image.data);
  for (let i = 0; i < width * height; i++) {
    data[i * 4 + 3] = alpha ? Math.round(255 * alpha(i % width, Math.floor(i / width))) : 255;
  }
  return encodePng({ data, width, height, channels: 4 });
}

/**
 * The chelsea photograph at width x height as 8-bit RGBA, with some transparency (alpha 128 at
 * every 97th pixel of a 7-step walk), so that PNG's filtered rows are not trivial.
 */
export async function translucentPhoto(width: number, height: number): Promise<RawImage> {
  const image = await resizeRaw(await decodeRgba(fixture('chelsea'), 1 << 24), width, height, 'cover');
  const data = new Uint8Array(image.data);
  for (let i = 0; i < width * height; i++) data[i * 4 + 3] = (i * 7) % 97 === 0 ? 128 : 255;
  return { ...image, data };
}

/** An RGBA image's pixels as an RGB PNG (alpha dropped) encoded by libvips. */
export async function rgbPngOf(image: RawImage): Promise<Uint8Array> {
  const { data, width, height } = image;
  return new Uint8Array(
    await sharp(data, { raw: { width, height, channels: 4 } })
      .removeAlpha()
      .png()
      .toBuffer(),
  );
}

/** A solid-colour PNG. */
export async function solidPng(width: number, height: number, grey: number): Promise<Uint8Array> {
  return encodePng({ data: new Uint8Array(width * height * 3).fill(grey), width, height, channels: 3 });
}

/**
 * A valid PNG that claims `width` x `height` pixels but carries a few bytes of zlib data that
 * inflate to all of them: a decompression bomb, refused from its header.
 */
export function bombPng(width: number, height: number): Uint8Array {
  const rowBytes = Math.ceil(width / 8) + 1;
  const rows = Math.min(height, 64); // enough real data to be a plausible start; the rest would follow
  return assemblePng([
    buildIhdrChunk({ width, height, bitDepth: 1, colorType: 0 }), // 1-bit greyscale
    buildPngChunk('IDAT', deflateSync(Buffer.alloc(rowBytes * rows))),
    buildPngChunk('IEND', new Uint8Array(0)),
  ]);
}
